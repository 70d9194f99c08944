# Types of the optional native core (C++ in _native/, built by setup.py).
from typing import Any

def new_core() -> Any: ...
def run(
    core: Any,
    data: bytes,
    pos: int,
    pending: list[int],
    wanted: int,
    batch_rows: int,
    max_depth: int,
) -> tuple[int, int, int, int, list[Any], list[int], bytes, Any]: ...
def table_types(table: int) -> tuple[int, ...]: ...
def scan_array(
    chunk: bytes, depth: int, in_str: bool, ceiling: int, transform: bool
) -> tuple[list[int], int, int, int, bool, bytes | None]: ...
