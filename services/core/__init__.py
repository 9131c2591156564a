"""Configuration and infrastructure: settings, sign-in allowlist, the boto3 client factory, the HTTP transport,
redaction, the error hierarchy and loopback name resolution."""
