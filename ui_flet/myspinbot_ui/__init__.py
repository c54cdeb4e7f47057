"""MySpinBot's web dashboard: a Flet web app that talks to the API over HTTP and /ws only.

`state` (the job board), `status` (backend health), `forms` (schema → fields) and `live` (the
feed that keeps them current) are plain Python; `views` render them; `app` wires one browser
session; `server` serves it all with the artifact route; `cli` adds `myspinbot ui`.
"""

__version__ = "0.1.0"
