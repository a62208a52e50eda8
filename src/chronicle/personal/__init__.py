"""Personal data in an immutable log: declared fields, per-subject keys, erasure by shredding.

An event class declares its personal fields and whose they are (:class:`Personal`). The store
keeps those fields encrypted under the subject's own data key (:mod:`.envelope`), and the
integrity hash covers a salted commitment to their plaintext instead of the plaintext, so that
destroying the key (:mod:`.erasure`) makes the data unreadable everywhere it was copied while every
hash, seal and proof still verifies. Keys live in a key store apart from the events
(:mod:`.keystore`).
"""

from chronicle.personal.declarations import Personal, PersonalPolicy

# The sealing side (chronicle.personal.protector) loads cryptography: imported where it is used.
__all__ = ["Personal", "PersonalPolicy"]
