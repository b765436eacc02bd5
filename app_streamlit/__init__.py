"""NetVigil's show tier: the Streamlit app operators keep open all day.

Layout: ``auth`` (passwords, roles), ``data`` (read-only queries returning
DataFrames), ``actions`` (the few writes, audited), ``live`` (Redis latest
values), ``charts`` (plotly figures), ``views`` (one Streamlit page each),
``main`` (login and navigation), ``cli`` (``netvigil app``), ``seed`` (demo
and benchmark data).
"""

__all__: list[str] = []
