"""How the exchange publishes the open catalogue: `serve --public-base-uri --licence --open-publisher --open-rate
--open-burst` (docs/open-data.md). Light to import: the command line reads it before it serves anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.opendata.render import OpenOptions

DEFAULT_RATE, DEFAULT_BURST = 20.0, 100
# How `serve --workers N` hands the configuration to its worker processes.
BASE_ENV, LICENCE_ENV, PUBLISHER_ENV = "STEWARD_OPEN_BASE_URI", "STEWARD_OPEN_LICENCE", "STEWARD_OPEN_PUBLISHER"
PUBLISHER_CODE_ENV = "STEWARD_OPEN_PUBLISHER_CODE"
RATE_ENV, BURST_ENV = "STEWARD_OPEN_RATE", "STEWARD_OPEN_BURST"


@dataclass(frozen=True)
class OpenConfig:
    """How the exchange publishes the open catalogue (`serve --public-base-uri --licence --open-rate ...`)."""

    public_base_uri: str = "http://127.0.0.1:8700/"  # serve says http://HOST:PORT/
    licence: str | None = None
    publisher: str = ""
    publisher_code: str = ""
    rate: float = DEFAULT_RATE  # requests a second a client may make on average (0: no limit)
    burst: int = DEFAULT_BURST  # requests a client may make at once

    def to_environment(self, environ: Any) -> None:
        environ[BASE_ENV], environ[LICENCE_ENV] = self.public_base_uri, self.licence or ""
        environ[PUBLISHER_ENV], environ[PUBLISHER_CODE_ENV] = self.publisher, self.publisher_code
        environ[RATE_ENV], environ[BURST_ENV] = str(self.rate), str(self.burst)

    @classmethod
    def from_environment(cls, environ: Any) -> OpenConfig:
        return cls(environ.get(BASE_ENV) or cls.public_base_uri, environ.get(LICENCE_ENV) or None,
                   environ.get(PUBLISHER_ENV, ""), environ.get(PUBLISHER_CODE_ENV, ""),
                   float(environ.get(RATE_ENV, DEFAULT_RATE)),
                   int(environ.get(BURST_ENV, DEFAULT_BURST)))

    def options(self) -> OpenOptions:
        base = self.public_base_uri if self.public_base_uri.endswith("/") else f"{self.public_base_uri}/"
        return OpenOptions(base, self.licence or None, self.publisher, self.publisher_code.strip().upper())


