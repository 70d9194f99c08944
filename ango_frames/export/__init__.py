"""From an export to tables: the source is opened and scanned into records, flattened into Arrow
batches (``flatten/``), gathered into DataFrames (``tables``) or written as Parquet
(``parquet``)."""
