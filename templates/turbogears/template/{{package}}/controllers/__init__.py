"""The controllers: object dispatch from RootController, one attribute per path segment."""
