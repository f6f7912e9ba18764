"""An integrated care system's own configuration: vocabularies and programme text, managed by
admins in the app and carried between systems as one JSON file."""
