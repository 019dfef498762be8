"""The Lua scripts of :class:`~idempotency_middleware.stores.redis.RedisStore` and the
record format they read and write.

A record is one hash under one key, so every operation is one script on one key: atomic,
one round trip, and at home on whichever node of a Redis Cluster owns the key. Fields:

====  ==================================================================
v     format version (:data:`~idempotency_middleware.stores.codec.FORMAT_VERSION`)
s     state: ``in_progress`` or ``completed``
o     owner token
f     fingerprint
e     lease or retention end, in milliseconds since the epoch
st    status of the replayable response (completed records only)
h     its header lines (:func:`~idempotency_middleware.stores.codec.encode_headers`)
b     its body
====  ==================================================================

The key's TTL ends at the same instant, so Redis drops the record by itself. The scripts
still compare ``e`` with the clock, which is the server's (``TIME``) unless the store was
given a clock: then a clock moved by a test moves expiry too.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from idempotency_middleware.errors import RecordDecodeError, StoreError
from idempotency_middleware.records import Claim, Record, RecordState
from idempotency_middleware.stores.codec import FORMAT_VERSION, decode_response

__all__ = ["CLAIM", "COMPLETE", "GET", "RELEASE", "RENEW", "Script", "claimed", "standing"]

_VERSION = str(FORMAT_VERSION)

# Every script: KEYS[1] is the record, ARGV[1] the caller's clock in milliseconds or ''
# for the server's. Replies of CLAIM and GET begin with that instant.
_PRELUDE = (
    f"local VERSION = '{_VERSION}'\n"
    """
local key = KEYS[1]
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local FIELDS = {'v', 's', 'o', 'f', 'e', 'st', 'h', 'b'}

-- The standing record as {'record', v, s, o, f, e[, st, h, b]}, {'wrongtype', type} for
-- a key that is no hash, or nil when the key is free: no record, or one of this format
-- past its end. The response fields are read only when `full`.
local function load(full)
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then return nil end
  if kind ~= 'hash' then return {'wrongtype', kind} end
  local r = redis.call('HMGET', key, unpack(FIELDS, 1, full and 8 or 5))
  local ends = tonumber(r[5])
  if r[1] == VERSION and ends and ends <= now then return nil end
  return {'record', unpack(r, 1, full and 8 or 5)}
end

local function owned(record, owner, state)
  return record ~= nil and record[1] == 'record' and record[2] == VERSION
    and record[3] == state and record[4] == owner
end
"""
)


class Script(NamedTuple):
    """A Lua script, the SHA1 digest ``EVALSHA`` names it by, and the first three words
    of its ``EVALSHA`` and ``EVAL`` commands on one key, in RESP."""

    source: str
    sha: str
    evalsha: bytes
    eval: bytes


def _script(body: str) -> Script:
    source = _PRELUDE + body
    sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
    return Script(source, sha, _words(b"EVALSHA", sha.encode()), _words(b"EVAL", source.encode()))


def _words(command: bytes, script: bytes) -> bytes:
    return b"".join(b"$%d\r\n%s\r\n" % (len(word), word) for word in (command, script, b"1"))


CLAIM = _script("""
-- ARGV: clock, owner, fingerprint, lease (ms). A record in progress under this owner is
-- this very claim, re-sent after a lost reply: it is claimed again.
local record = load(true)
if record ~= nil and not owned(record, ARGV[2], 'in_progress') then
  return {now, unpack(record)}
end
local lease = tonumber(ARGV[4])
redis.call('DEL', key)
redis.call('HSET', key, 'v', VERSION, 's', 'in_progress', 'o', ARGV[2], 'f', ARGV[3],
  'e', now + lease)
redis.call('PEXPIRE', key, lease)
return {now, 'claimed'}
""")

COMPLETE = _script("""
-- ARGV: clock, owner, retention (ms), '1' if replayable, status, headers, body.
local record = load(true)
local replayable = ARGV[4] == '1'
if owned(record, ARGV[2], 'in_progress') then
  local ttl = tonumber(ARGV[3])
  redis.call('HSET', key, 's', 'completed', 'e', now + ttl)
  if replayable then
    redis.call('HSET', key, 'st', ARGV[5], 'h', ARGV[6], 'b', ARGV[7])
  end
  redis.call('PEXPIRE', key, ttl)
  return 1
end
-- This owner already stored this very response: a completion re-sent after a lost
-- reply, or retried after an error, has succeeded.
if owned(record, ARGV[2], 'completed') then
  if replayable then
    return (record[7] == ARGV[5] and record[8] == ARGV[6] and record[9] == ARGV[7]) and 1 or 0
  end
  return record[7] == false and 1 or 0
end
return 0
""")

RENEW = _script("""
-- ARGV: clock, owner, lease (ms).
if not owned(load(false), ARGV[2], 'in_progress') then return 0 end
local lease = tonumber(ARGV[3])
redis.call('HSET', key, 'e', now + lease)
redis.call('PEXPIRE', key, lease)
return 1
""")

RELEASE = _script("""
-- ARGV: clock, owner.
if not owned(load(false), ARGV[2], 'in_progress') then return 0 end
redis.call('DEL', key)
return 1
""")

GET = _script("""
-- ARGV: clock.
local record = load(true)
if record == nil then return {now} end
return {now, unpack(record)}
""")


def claimed(reply: object, owner: str, fingerprint: str, lease_ms: int) -> Claim:
    """The :class:`Claim` a reply of :data:`CLAIM` stands for."""
    now_ms, rest = _split(reply)
    if rest == [b"claimed"]:
        record = Record(RecordState.IN_PROGRESS, fingerprint, owner, (now_ms + lease_ms) / 1000)
        return Claim(claimed=True, record=record, now=now_ms / 1000)
    return Claim(claimed=False, record=_record(rest), now=now_ms / 1000)


def standing(reply: object) -> Record | None:
    """The record in a reply of :data:`GET`; None if there is none."""
    return _record(_split(reply)[1])


def _split(reply: object) -> tuple[int, list[Any]]:
    if not isinstance(reply, list) or not reply or not isinstance(reply[0], int):
        raise StoreError(f"Redis answered a store script with {reply!r:.100}")
    return reply[0], reply[1:]


def _record(rest: list[Any]) -> Record | None:
    if not rest:
        return None
    if rest[0] == b"wrongtype":
        raise RecordDecodeError(f"the record's key holds a Redis {_shown(rest[1])}, not a hash")
    version, state, owner, fingerprint, ends, status, headers, body = rest[1:9]
    if version != _VERSION.encode():
        raise RecordDecodeError(
            f"stored record has format version {_shown(version)}, "
            f"this version reads {FORMAT_VERSION}"
        )
    try:
        record_state = RecordState(_text(state))
        response = None
        if record_state is RecordState.COMPLETED and status is not None:
            if headers is None or body is None:
                raise ValueError("it is replayable but lacks its response")
            response = decode_response(status, headers, body)
        return Record(record_state, _text(fingerprint), _text(owner), int(ends) / 1000, response)
    except (ValueError, TypeError) as exc:
        raise RecordDecodeError(f"stored record cannot be decoded: {exc}") from exc


def _text(value: object) -> str:
    if not isinstance(value, bytes):
        raise TypeError(f"a field holds {value!r}")
    return value.decode()


def _shown(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else "none"
