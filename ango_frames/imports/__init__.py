"""From DataFrames to Ango Hub: rows are validated (problems), mapped to ids (ontology, asset
keys), built into payloads (labels, attachments, annotate), planned in chunks, journalled and
sent."""
