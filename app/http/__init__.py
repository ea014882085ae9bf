"""The HTTP layer's cross-cutting concerns, one module each; `api` composes them into the bases."""
