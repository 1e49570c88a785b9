"""The smallest service worker: the Faust app with its tables and views, no agents."""

from app.service import create_worker

worker = create_worker({})
app = worker.app
