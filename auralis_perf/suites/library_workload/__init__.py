"""The music-library scenario shared by the cache and database categories."""
