"""The chat API that the web widget and the company app share; each channel mounts it under its own prefix."""
