"""The one configuration object of the API service, read from ``LOOKOUT_*`` env vars or ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-in-production"
"""The development secret; refused in any other environment."""


class Settings(BaseSettings):
    """Everything the service reads from its environment, in one place.

    >>> Settings(data_dir=Path("/tmp/lookout")).sqlalchemy_url
    'sqlite:////tmp/lookout/lookout.db'
    """

    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(
        default=Path("data"), description="batch uploads, Parquet outputs, rule packs"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: a SQLite file under data_dir"
    )
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    unit_id: str = Field(default="XX-DEV-PCU", description="this installation's unit id")
    host: str = "127.0.0.1"
    port: int = 8000

    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="largest request body"
    )
    inline_row_limit: int = Field(
        default=5_000, gt=0, description="JSON rows scored inline up to this"
    )
    inline_max_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=0,
        description="uploaded files up to this size are scored inline",
    )
    workers: int = Field(default=2, ge=1, le=32, description="background scoring threads")
    default_seed: int = 0
    page_size_max: int = Field(default=500, ge=1)

    # Engine overrides; None means the shipped rules, model and policy.
    rules_dir: Path | None = None
    model_dir: Path | None = None
    policy_path: Path | None = None
    history_dir: Path | None = Field(
        default=None, description="root of the per-unit history stores (default: data_dir/history)"
    )
    history: bool = Field(
        default=True,
        description="feed scored batches and inspection results into a per-unit history "
        "store whose features (first seen, past positives, ...) later batches use",
    )
    watchlists: list[Path] = Field(default_factory=list)
    warm_scorer: bool = Field(
        default=True, description="build the scorer at startup (readyz waits)"
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.environment != "development" and (secret == DEFAULT_SECRET or len(secret) < 32):
            raise ValueError(
                "LOOKOUT_SECRET_KEY must be set to a random value of at least 32 characters "
                f"outside development (environment={self.environment!r}); generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to ``<data_dir>/lookout.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'lookout.db'}"

    @property
    def batches_dir(self) -> Path:
        """Where each batch's input and engine outputs live (one folder per batch)."""
        return self.data_dir / "batches"

    @property
    def packs_dir(self) -> Path:
        """Where uploaded rule packs are stored by content hash."""
        return self.data_dir / "rule_packs"
