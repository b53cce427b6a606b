"""ailib: one typed client for every LLM provider."""
