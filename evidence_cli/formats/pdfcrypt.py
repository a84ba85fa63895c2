"""PDF standard security handler: open files encrypted with an *empty* user password.

Many PDFs are encrypted only to carry "owner" restrictions (no printing, no copying):
their user password is empty, every reader opens them without asking, and their
document information is ciphertext on disk. This module derives the file key for the
empty user password (ISO 32000-2 7.6.4: revisions 2-4 with RC4 or AES-128, revisions 5
and 6 with AES-256), checks it against ``/U``, and decrypts strings and streams. It does
not guess or try other passwords: when the empty one is not the user password the file
stays locked and the caller says so.

AES and RC4 are implemented here (the standard library has neither): only metadata-sized
data is decrypted, under a byte budget (:data:`MAX_DECRYPT`).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

#: All bytes decrypted for one document (pure-Python ciphers: about 1 MB/s).
MAX_DECRYPT = 2 * 1024 * 1024

#: Algorithm 2 step a: the padding string of the standard security handler.
PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


class CryptError(ValueError):
    """Encryption that cannot be undone (unsupported handler, bad sizes, over budget)."""


# ----------------------------------------------------------------------------------------
# RC4


def rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    klen = len(key)
    for i in range(256):
        j = (j + s[i] + key[i % klen]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray(len(data))
    i = j = 0
    for k, b in enumerate(data):
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out[k] = b ^ s[(s[i] + s[j]) & 0xFF]
    return bytes(out)


# ----------------------------------------------------------------------------------------
# AES (FIPS-197), tables computed rather than transcribed


def _xtime(a: int) -> int:
    a <<= 1
    return a ^ 0x11B if a & 0x100 else a


def _gmul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a = _xtime(a)
        b >>= 1
    return r


def _make_sbox() -> tuple[bytes, bytes]:
    # Inverses in GF(2^8) from exp/log tables of the generator 3 (255 steps), instead of
    # x^254 by repeated multiplication (65,000 multiplications at every import).
    exp = [0] * 510
    log = [0] * 256
    x = 1
    for i in range(255):
        exp[i] = exp[i + 255] = x
        log[x] = i
        x ^= _xtime(x)  # x * 3
    sbox = bytearray(256)
    for x in range(256):
        inv = exp[255 - log[x]] if x else 0
        s = inv
        for k in range(1, 5):
            s ^= ((inv << k) | (inv >> (8 - k))) & 0xFF
        sbox[x] = s ^ 0x63
    inv_sbox = bytearray(256)
    for x in range(256):
        inv_sbox[sbox[x]] = x
    return bytes(sbox), bytes(inv_sbox)


SBOX, INV_SBOX = _make_sbox()


def _ror(w: int, n: int) -> int:
    return ((w >> n) | (w << (32 - n))) & 0xFFFFFFFF


def _tables() -> tuple[list[list[int]], list[list[int]]]:
    """Round tables: SubBytes+ShiftRows+MixColumns as one lookup per byte (and inverse)."""
    te0 = []
    td0 = []
    for x in range(256):
        s, i = SBOX[x], INV_SBOX[x]
        te0.append((_gmul(s, 2) << 24) | (s << 16) | (s << 8) | _gmul(s, 3))
        td0.append((_gmul(i, 14) << 24) | (_gmul(i, 9) << 16) | (_gmul(i, 13) << 8) | _gmul(i, 11))
    te = [te0] + [[_ror(w, 8 * k) for w in te0] for k in (1, 2, 3)]
    td = [td0] + [[_ror(w, 8 * k) for w in td0] for k in (1, 2, 3)]
    return te, td


(TE0, TE1, TE2, TE3), (TD0, TD1, TD2, TD3) = _tables()


def _expand_key(key: bytes) -> list[int]:
    """Encryption round keys as 32-bit big-endian words (4 per round)."""
    nk = len(key) // 4
    if len(key) not in (16, 24, 32):
        raise CryptError(f"AES key of {len(key)} bytes")
    nr = nk + 6
    w = [int.from_bytes(key[4 * i : 4 * i + 4], "big") for i in range(nk)]
    rcon = 1
    for i in range(nk, 4 * (nr + 1)):
        t = w[i - 1]
        if i % nk == 0:
            t = (
                (SBOX[(t >> 16) & 0xFF] << 24) | (SBOX[(t >> 8) & 0xFF] << 16) | (SBOX[t & 0xFF] << 8) | SBOX[t >> 24]
            ) ^ (rcon << 24)
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            t = (SBOX[t >> 24] << 24) | (SBOX[(t >> 16) & 0xFF] << 16) | (SBOX[(t >> 8) & 0xFF] << 8) | SBOX[t & 0xFF]
        w.append(w[i - nk] ^ t)
    return w


def _decrypt_key(ek: list[int]) -> list[int]:
    """Round keys of the equivalent inverse cipher (InvMixColumns applied to the middle ones)."""
    nr = len(ek) // 4 - 1
    dk: list[int] = []
    for rnd in range(nr, -1, -1):
        words = ek[4 * rnd : 4 * rnd + 4]
        if 0 < rnd < nr:
            words = [
                TD0[SBOX[w >> 24]] ^ TD1[SBOX[(w >> 16) & 0xFF]] ^ TD2[SBOX[(w >> 8) & 0xFF]] ^ TD3[SBOX[w & 0xFF]]
                for w in words
            ]
        dk += words
    return dk


def _encrypt_block(rk: list[int], block: bytes) -> bytes:
    a0, a1, a2, a3 = _UNPACK(block)
    s0, s1, s2, s3 = a0 ^ rk[0], a1 ^ rk[1], a2 ^ rk[2], a3 ^ rk[3]
    nr = len(rk) // 4 - 1
    for r in range(1, nr):
        k = 4 * r
        s0, s1, s2, s3 = (
            TE0[s0 >> 24] ^ TE1[(s1 >> 16) & 0xFF] ^ TE2[(s2 >> 8) & 0xFF] ^ TE3[s3 & 0xFF] ^ rk[k],
            TE0[s1 >> 24] ^ TE1[(s2 >> 16) & 0xFF] ^ TE2[(s3 >> 8) & 0xFF] ^ TE3[s0 & 0xFF] ^ rk[k + 1],
            TE0[s2 >> 24] ^ TE1[(s3 >> 16) & 0xFF] ^ TE2[(s0 >> 8) & 0xFF] ^ TE3[s1 & 0xFF] ^ rk[k + 2],
            TE0[s3 >> 24] ^ TE1[(s0 >> 16) & 0xFF] ^ TE2[(s1 >> 8) & 0xFF] ^ TE3[s2 & 0xFF] ^ rk[k + 3],
        )
    k = 4 * nr
    S = SBOX
    out = (
        ((S[s0 >> 24] << 24) | (S[(s1 >> 16) & 0xFF] << 16) | (S[(s2 >> 8) & 0xFF] << 8) | S[s3 & 0xFF]) ^ rk[k],
        ((S[s1 >> 24] << 24) | (S[(s2 >> 16) & 0xFF] << 16) | (S[(s3 >> 8) & 0xFF] << 8) | S[s0 & 0xFF]) ^ rk[k + 1],
        ((S[s2 >> 24] << 24) | (S[(s3 >> 16) & 0xFF] << 16) | (S[(s0 >> 8) & 0xFF] << 8) | S[s1 & 0xFF]) ^ rk[k + 2],
        ((S[s3 >> 24] << 24) | (S[(s0 >> 16) & 0xFF] << 16) | (S[(s1 >> 8) & 0xFF] << 8) | S[s2 & 0xFF]) ^ rk[k + 3],
    )
    return _PACK(*out)


def _decrypt_block(dk: list[int], block: bytes) -> bytes:
    a0, a1, a2, a3 = _UNPACK(block)
    s0, s1, s2, s3 = a0 ^ dk[0], a1 ^ dk[1], a2 ^ dk[2], a3 ^ dk[3]
    nr = len(dk) // 4 - 1
    for r in range(1, nr):
        k = 4 * r
        s0, s1, s2, s3 = (
            TD0[s0 >> 24] ^ TD1[(s3 >> 16) & 0xFF] ^ TD2[(s2 >> 8) & 0xFF] ^ TD3[s1 & 0xFF] ^ dk[k],
            TD0[s1 >> 24] ^ TD1[(s0 >> 16) & 0xFF] ^ TD2[(s3 >> 8) & 0xFF] ^ TD3[s2 & 0xFF] ^ dk[k + 1],
            TD0[s2 >> 24] ^ TD1[(s1 >> 16) & 0xFF] ^ TD2[(s0 >> 8) & 0xFF] ^ TD3[s3 & 0xFF] ^ dk[k + 2],
            TD0[s3 >> 24] ^ TD1[(s2 >> 16) & 0xFF] ^ TD2[(s1 >> 8) & 0xFF] ^ TD3[s0 & 0xFF] ^ dk[k + 3],
        )
    k = 4 * nr
    S = INV_SBOX
    out = (
        ((S[s0 >> 24] << 24) | (S[(s3 >> 16) & 0xFF] << 16) | (S[(s2 >> 8) & 0xFF] << 8) | S[s1 & 0xFF]) ^ dk[k],
        ((S[s1 >> 24] << 24) | (S[(s0 >> 16) & 0xFF] << 16) | (S[(s3 >> 8) & 0xFF] << 8) | S[s2 & 0xFF]) ^ dk[k + 1],
        ((S[s2 >> 24] << 24) | (S[(s1 >> 16) & 0xFF] << 16) | (S[(s0 >> 8) & 0xFF] << 8) | S[s3 & 0xFF]) ^ dk[k + 2],
        ((S[s3 >> 24] << 24) | (S[(s2 >> 16) & 0xFF] << 16) | (S[(s1 >> 8) & 0xFF] << 8) | S[s0 & 0xFF]) ^ dk[k + 3],
    )
    return _PACK(*out)


_UNPACK = struct.Struct(">4I").unpack
_PACK = struct.Struct(">4I").pack


def _xor16(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(16, "big")


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC without padding (``data`` is a whole number of blocks)."""
    rk = _expand_key(key)
    out = bytearray()
    prev = iv
    for k in range(0, len(data), 16):
        prev = _encrypt_block(rk, _xor16(data[k : k + 16], prev))
        out += prev
    return bytes(out)


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CBC without removing padding; a trailing partial block is dropped."""
    dk = _decrypt_key(_expand_key(key))
    out = bytearray()
    prev = iv
    for k in range(0, len(data) - len(data) % 16, 16):
        block = data[k : k + 16]
        out += _xor16(_decrypt_block(dk, block), prev)
        prev = block
    return bytes(out)


def _unpad(data: bytes) -> bytes:
    n = data[-1] if data else 0
    if 1 <= n <= 16 and data.endswith(bytes([n]) * n):
        return data[:-n]
    return data  # not PKCS#7: keep everything rather than guess


# ----------------------------------------------------------------------------------------
# the standard security handler


def _int(v: Any, default: int) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _bytes(v: Any) -> bytes:
    return bytes(v) if isinstance(v, (bytes, bytearray)) else b""


class StandardSecurity:
    """Key derivation and decryption for ``/Filter /Standard``, empty user password only."""

    def __init__(self, enc: dict[str, Any], id0: bytes) -> None:
        if str(enc.get("Filter")) != "Standard":
            raise CryptError(f"security handler {enc.get('Filter')!s} is not supported")
        self.v = _int(enc.get("V"), 0)
        self.r = _int(enc.get("R"), 0)
        self.o = _bytes(enc.get("O"))
        self.u = _bytes(enc.get("U"))
        self.oe = _bytes(enc.get("OE"))
        self.ue = _bytes(enc.get("UE"))
        self.p = _int(enc.get("P"), 0)
        self.id0 = id0
        self.encrypt_metadata = enc.get("EncryptMetadata") is not False
        self.length = _int(enc.get("Length"), 40)
        self.key: bytes | None = None
        self.budget = MAX_DECRYPT
        self.stm_method = self.str_method = "V2"
        if self.v in (4, 5):
            raw_cf = enc.get("CF")
            cf: dict[str, Any] = raw_cf if isinstance(raw_cf, dict) else {}
            self.stm_method = self._method(cf, enc.get("StmF"))
            self.str_method = self._method(cf, enc.get("StrF"))
        elif self.v not in (1, 2):
            raise CryptError(f"encryption version V={self.v} is not supported")

    @staticmethod
    def _method(cf: dict[str, Any], name: Any) -> str:
        if name is None or str(name) == "Identity":
            return "None"
        filt = cf.get(str(name))
        if not isinstance(filt, dict):
            raise CryptError(f"crypt filter {name!s} is not defined")
        return str(filt.get("CFM", "None"))

    # -- keys
    def authenticate_empty(self) -> bool:
        """Derive the file key for the empty user password; True when ``/U`` confirms it."""
        if self.r in (5, 6):
            return self._auth_aes256()
        if self.r not in (2, 3, 4) or len(self.o) < 32 or len(self.u) < 16:
            raise CryptError(f"standard security revision R={self.r} with bad /O or /U")
        n = 5 if self.r == 2 else max(5, min(self.length // 8 if self.length > 16 else self.length, 16))
        if self.v == 4:
            n = 16
        # /P is a signed 32-bit value, but writers store it signed or unsigned: use its low 32 bits
        m = hashlib.md5(PAD + self.o[:32] + struct.pack("<I", self.p & 0xFFFFFFFF) + self.id0)
        if self.r >= 4 and not self.encrypt_metadata:
            m.update(b"\xff\xff\xff\xff")
        digest = m.digest()
        if self.r >= 3:
            for _ in range(50):
                digest = hashlib.md5(digest[:n]).digest()
        key = digest[:n]
        if self.r == 2:
            ok = rc4(key, PAD) == self.u[:32]
        else:
            x = rc4(key, hashlib.md5(PAD + self.id0).digest())
            for i in range(1, 20):
                x = rc4(bytes(b ^ i for b in key), x)
            ok = x[:16] == self.u[:16]
        if ok:
            self.key = key
        return ok

    def _hash_r6(self, password: bytes, salt: bytes, udata: bytes) -> bytes:
        k = hashlib.sha256(password + salt + udata).digest()
        if self.r == 5:
            return k
        i = 0
        while True:
            k1 = (password + k + udata) * 64
            e = aes_cbc_encrypt(k[:16], k[16:32], k1)
            choice = sum(e[:16]) % 3
            k = (hashlib.sha256, hashlib.sha384, hashlib.sha512)[choice](e).digest()
            i += 1
            if i >= 64 and e[-1] <= i - 32:
                return k[:32]

    def _auth_aes256(self) -> bool:
        if len(self.u) < 48 or len(self.ue) < 32:
            raise CryptError("AES-256 encryption with bad /U or /UE")
        if self._hash_r6(b"", self.u[32:40], b"") != self.u[:32]:
            return False
        inter = self._hash_r6(b"", self.u[40:48], b"")
        self.key = aes_cbc_decrypt(inter, bytes(16), self.ue[:32])
        return True

    # -- data
    def _spend(self, n: int) -> None:
        self.budget -= n
        if self.budget < 0:
            raise CryptError(f"more than {MAX_DECRYPT} bytes to decrypt")

    def _decrypt(self, method: str, data: bytes, num: int, gen: int) -> bytes:
        if method == "None" or self.key is None:
            return data
        self._spend(len(data))
        if method == "AESV3":
            key = self.key
        else:
            salt = b"sAlT" if method == "AESV2" else b""
            seed = self.key + struct.pack("<I", num)[:3] + struct.pack("<I", gen)[:2] + salt
            key = hashlib.md5(seed).digest()[: min(len(self.key) + 5, 16)]
        if method == "V2":
            return rc4(key, data)
        if method in ("AESV2", "AESV3"):
            if len(data) < 16:
                raise CryptError("AES data shorter than its IV")
            return _unpad(aes_cbc_decrypt(key, data[:16], data[16:]))
        raise CryptError(f"crypt method {method} is not supported")

    def decrypt_string(self, data: bytes, num: int, gen: int) -> bytes:
        return self._decrypt(self.str_method, data, num, gen)

    def decrypt_stream(self, data: bytes, num: int, gen: int, sdict: dict[str, Any]) -> bytes:
        if str(sdict.get("Type")) == "XRef":
            return data  # never encrypted
        if str(sdict.get("Type")) == "Metadata" and not self.encrypt_metadata:
            return data
        return self._decrypt(self.stm_method, data, num, gen)
