"""The firm's people, their encrypted My Numbers and the purposes of use."""
