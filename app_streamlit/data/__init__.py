"""Read-only queries of the app: pure functions (connection, parameters) -> DataFrame.

Every filter value and search text is a bound parameter (``%s``/``%(name)s``);
the SQL text itself is fixed. Connections come from the read-only role, which
cannot see device credentials.
"""

from app_streamlit.data.common import Source, choose_source, like_pattern, read_frame

__all__ = ["Source", "choose_source", "like_pattern", "read_frame"]
