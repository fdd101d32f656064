//! The rollover as data: per lineage, its keys, the records wanted at each owner, and the
//! plan (state + observations + now -> actions). Pure: no files, sockets or clock.
