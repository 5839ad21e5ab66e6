"""The text: decode a page's bytes, extract the article and its metadata, then find its entities,
quotes and speakers."""
