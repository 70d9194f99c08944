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
