"""Records to rows: one Flattener turns export records (tasks, objects, answers, issues, stage
history) into Arrow record batches with the schemas of ``ango_frames.schemas``."""
