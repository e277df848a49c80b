"""The app factory uvicorn starts (``portal.server:app``): settings from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from pipeline.settings import Settings
from portal.app import create_app
from portal.settings import PortalSettings


def app() -> FastAPI:
    return create_app(PortalSettings.load(Settings.build()))
