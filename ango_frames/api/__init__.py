"""Talking to Ango Hub over HTTP: the Client's endpoints, the transport (retries, rate limit),
the export request, the streamed download of the export zip and incremental exports."""
