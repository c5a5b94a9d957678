"""The service layer: what routes call. Routes stay thin; the engine is reached only here."""
