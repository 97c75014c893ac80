"""Offers: gpuhunt's catalog read fast, and the one matcher every backend's rows go through."""
