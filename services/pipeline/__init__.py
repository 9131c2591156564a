"""The pipeline's operations: presign, upload, browse, and the image checks they share."""
