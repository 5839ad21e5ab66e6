"""The web: discover article URLs in outlets' feeds and sitemaps, fetch them politely, keep every
fetch in the raw zone, and turn the raw zone into pages."""
