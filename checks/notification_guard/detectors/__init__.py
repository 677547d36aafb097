"""One module per kind of path by which S3 events can reach a queue (and the Lambda review list).

Each `detect` reads the TemplateGraph and returns what it found; `find_duplicate_paths`
(notification_guard/__init__.py) runs them all and groups the paths by queue.
"""
