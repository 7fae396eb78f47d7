"""A small typed client of Petri's REST API, and the ``petri`` command built on it.

from petri_client import Client
client = Client.from_config()          # ~/.config/petri/config.json, PETRI_URL/PETRI_TOKEN
experiment = client.submit({"algorithm": "pc", "dataset": 1, "parameters": {...}})
"""

from __future__ import annotations

from petri_client.client import ApiError, Client, PetriError
from petri_client.config import Config, load_config, save_config

__all__ = ["ApiError", "Client", "Config", "PetriError", "load_config", "save_config"]
