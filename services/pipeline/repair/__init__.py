"""Repair what the pipeline already stored: give each image the Content-Type its bytes say (and, if asked, a
Cache-Control), in place, at any bucket size.

decide (pure: what an object should be labelled) · scan (streaming listing, one ranged GET per object, SlowDown
paced) · apply (CopyObject onto itself, everything else kept, conditioned on the scanned ETag) · cdn (invalidation
batches and their cost) · checkpoint (resume) · run (the loop: bounded concurrency, progress, stop) · batch (an S3
Batch Operations job for buckets past one machine).
"""
