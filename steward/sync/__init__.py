"""How entries travel: keys, signed changesets, the exchange client, the exchange's copy, merge, conflicts, the sync."""
