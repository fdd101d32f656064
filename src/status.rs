//! Reports built from state and observations (pure), for `status` and `run`.
