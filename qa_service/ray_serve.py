"""Ray Serve deployment: the same FastAPI app as N replicas behind Ray's HTTP proxy.

Each replica builds the app and loads its models once (in the app's lifespan); Ray routes
requests across replicas. Every replica must see every write, so the store is shared: Milvus
(``QA_VECTOR_STORE=milvus`` with a server URI, e.g. ``milvus-lite server`` on one machine or a
Milvus cluster), or — replicas on one machine only — the same ``QA_DATA_DIR``, whose SQLite
database each replica's FAISS index follows.

    qa-service serve --ray --replicas 2                      # local Ray instance
    RAY_ADDRESS=ray://head:10001 qa-service serve --ray ...  # an existing cluster
"""

from __future__ import annotations

import logging
from typing import Any

from .config import Settings

log = logging.getLogger(__name__)


def build_deployment(settings: Settings, replicas: int, cpus_per_replica: float) -> Any:
    """The bound Ray Serve application (not yet running)."""
    from ray import serve

    from .api import create_app

    # Settings travel to the replicas as plain values; each replica builds its own app.
    values = settings.model_dump(mode="json", exclude={"api_keys", "read_api_keys"})
    keys = [k.get_secret_value() for k in settings.api_keys]
    read_keys = [k.get_secret_value() for k in settings.read_api_keys]
    app = create_app(
        Settings(**values, api_keys=keys, read_api_keys=read_keys), load_before_start=True
    )

    @serve.deployment(
        name="qa-service",
        num_replicas=replicas,
        ray_actor_options={"num_cpus": cpus_per_replica},
        health_check_period_s=10,
    )
    @serve.ingress(app)
    class QAServiceReplica:
        """One replica: the FastAPI app, models loaded by its lifespan."""

    return QAServiceReplica.bind()  # type: ignore[attr-defined]


def run(settings: Settings, replicas: int, address: str | None, cpus_per_replica: float) -> None:
    """Start Ray Serve on ``settings.host:settings.port`` and block until interrupted."""
    import ray
    from ray import serve

    ray.init(address=address or None, ignore_reinit_error=True, log_to_driver=False)
    serve.start(http_options={"host": settings.host, "port": settings.port})
    serve.run(
        build_deployment(settings, replicas, cpus_per_replica),
        name="qa-service",
        route_prefix="/",
        blocking=True,
    )
