"""Pure AWS semantics: the IAM policy language, S3's CORS algorithm, S3 errors, canonical statements.

No I/O, and no imports from the rest of the project (tests/test_layout.py holds both): the checks and the
sandbox share this one reading of AWS's rules."""
