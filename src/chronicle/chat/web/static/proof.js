/*
 * Chronicle inclusion proofs, checked in the browser with Web Crypto.
 *
 * The same checks as the Python `chronicle.integrity.proof_check.check_proof` for a document of
 * type "inclusion" (see the README's "Proofs anyone can check"): the event's integrity hash is
 * recomputed from its content (RFC 8785 canonical JSON, SHA-256, the per-aggregate chain step),
 * the RFC 9162 audit path is followed from its leaf to the seal's Merkle root, and the seal's
 * Ed25519 signature is checked with a key the caller pins. Nothing is fetched and nothing throws:
 * every malformed input is a failure, named in words.
 *
 *   await ChronicleProof.checkInclusion(documentObject, "KEY_ID:BASE64")
 *     -> {valid, seal, keyId, treeSize, leafIndex, failures}
 *   await ChronicleProof.parsePinnedKey("KEY_ID:BASE64" or "BASE64") -> {keyId, raw}
 *   await ChronicleProof.keyIdOf(raw) -> 16 hex digits
 *
 * Web Crypto (crypto.subtle) exists only in a secure context: https, or http from localhost.
 */
"use strict";

(function () {
  const PROOF_FORMAT = "chronicle-proof/1";
  const SEAL_FORMAT = "chronicle-seal/2";
  const SEAL_FORMAT_V1 = "chronicle-seal/1";
  const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER; // 2**53 - 1, as chronicle.store.codec
  const MAX_DEPTH = 64;
  const MAX_VERSION = (1n << 63n) - 1n; // the chain takes the version as 8 bytes
  const HASH_SIZE = 32;
  const GENESIS = new Uint8Array(HASH_SIZE);
  const ENVELOPE = "$personal"; // sealed personal fields, as chronicle.store.integrity
  const UNSEALED = ["ciphertext"]; // the envelope's parts the hash does not cover
  const HEX32 = /^[0-9a-f]{64}$/;
  const KEY_ID = /^[0-9a-f]{16}$/;
  const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
  const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
  const TEXT_FIELDS = ["event_id", "aggregate_id", "aggregate_type", "event_type", "timestamp"];
  const SEAL_NUMBERS = ["number", "position", "tree_size", "event_count"];
  // What a seal of format 2 signs (chronicle.integrity.seals.seal_payload), and all it holds.
  const SEAL_PAYLOAD = [
    "format",
    "number",
    "tree_size",
    "root",
    "log_head",
    "position",
    "last_hash",
    "previous",
    "sealed_at",
    "key_id",
  ];
  const SEAL_FIELDS = [...SEAL_PAYLOAD, "public_key", "signature"];
  const encoder = new TextEncoder();

  // --- JSON values -------------------------------------------------------------------------------

  /** A value's JSON kind: null, boolean, number, string, array, object (plain), or other. */
  function kindOf(value) {
    if (value === null) return "null";
    const type = typeof value;
    if (type === "boolean" || type === "number" || type === "string") return type;
    if (Array.isArray(value)) return "array";
    if (type === "object") {
      const prototype = Object.getPrototypeOf(value);
      if (prototype === Object.prototype || prototype === null) return "object";
    }
    return "other";
  }

  /** The Python type name of a value, for messages that read like the Python checker's. */
  function pythonType(value) {
    switch (kindOf(value)) {
      case "null":
        return "NoneType";
      case "boolean":
        return "bool";
      case "number":
        return Number.isInteger(value) ? "int" : "float";
      case "string":
        return "str";
      case "array":
        return "list";
      case "object":
        return "dict";
      default:
        return value === undefined ? "NoneType" : typeof value;
    }
  }

  function own(object, name) {
    return Object.prototype.hasOwnProperty.call(object, name) ? object[name] : undefined;
  }

  function has(object, name) {
    return Object.prototype.hasOwnProperty.call(object, name);
  }

  /** Whether a string is valid Unicode (no lone surrogates): text JSON can hold. */
  function wellFormed(text) {
    if (typeof text.isWellFormed === "function") return text.isWellFormed();
    return !/[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/.test(text);
  }

  /** Python's truth of a JSON value: false for null, false, 0, "", [] and {}. */
  function truthy(value) {
    if (Array.isArray(value)) return value.length > 0;
    if (kindOf(value) === "object") return Object.keys(value).length > 0;
    return Boolean(value);
  }

  function isText(value) {
    return typeof value === "string" && wellFormed(value);
  }

  function isWhole(value) {
    return typeof value === "number" && Number.isInteger(value);
  }

  class InvalidJson extends Error {}

  function canonicalString(text, where) {
    if (!wellFormed(text)) {
      throw new InvalidJson(`${where} is not valid JSON text: it holds a lone surrogate`);
    }
    return JSON.stringify(text);
  }

  /**
   * The RFC 8785 canonical text of a JSON value, holding Chronicle's I-JSON limits as
   * chronicle.store.codec.canonical_json does (integers within ±(2**53 - 1), finite numbers,
   * valid Unicode, at most 64 levels); throws InvalidJson naming `where` otherwise.
   * Keys sort by UTF-16 code units (JavaScript's own string order); numbers and strings take
   * JSON.stringify's form, which is RFC 8785's.
   */
  function canonical(value, where = "value", depth = 0) {
    if (depth > MAX_DEPTH) {
      throw new InvalidJson(`${where} is nested deeper than ${MAX_DEPTH} levels`);
    }
    switch (kindOf(value)) {
      case "null":
        return "null";
      case "boolean":
        return value ? "true" : "false";
      case "string":
        return canonicalString(value, where);
      case "number":
        if (!Number.isFinite(value)) {
          throw new InvalidJson(`${where} holds ${value}, which JSON cannot represent`);
        }
        if (Number.isInteger(value) && Math.abs(value) > MAX_SAFE_INTEGER) {
          // JSON.parse keeps no difference between 1e300 and its digits; Python reads digits as
          // an integer, so the message follows the way each is usually written.
          const what =
            Math.abs(value) < 1e21 ? `the integer ${value},` : `${value}, a whole number`;
          throw new InvalidJson(`${where} holds ${what} outside ±(2**53 - 1); store it as a string`);
        }
        return JSON.stringify(value); // -0 is "0", as RFC 8785 asks
      case "array":
        return "[" + value.map((item) => canonical(item, where, depth + 1)).join(",") + "]";
      case "object": {
        const parts = Object.keys(value)
          .sort()
          .map((key) => {
            const item = value[key];
            // As the Python check: a string member is checked where it is, not a level down.
            const text =
              typeof item === "string"
                ? canonicalString(item, where)
                : canonical(item, where, depth + 1);
            return canonicalString(key, where) + ":" + text;
          });
        return "{" + parts.join(",") + "}";
      }
      default:
        throw new InvalidJson(`${where} holds a ${pythonType(value)}, which is not a JSON value`);
    }
  }

  function canonicalObject(value, where) {
    if (kindOf(value) !== "object") {
      throw new InvalidJson(`${where} must be a JSON object, not ${pythonType(value)}`);
    }
    return canonical(value, where);
  }

  /** The data the hash covers: the sealed personal fields' envelope without its ciphertext. */
  function committedForm(data) {
    const envelope = own(data, ENVELOPE);
    if (kindOf(envelope) !== "object" || !UNSEALED.some((name) => has(envelope, name))) {
      return data;
    }
    const committed = Object.fromEntries(
      Object.entries(envelope).filter(([name]) => !UNSEALED.includes(name)),
    );
    // fromEntries defines keys as own data properties, so even "__proto__" stays a plain key.
    return Object.fromEntries(
      Object.entries(data).map(([key, item]) => [key, key === ENVELOPE ? committed : item]),
    );
  }

  // --- Bytes and hashes --------------------------------------------------------------------------

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  function toHex(bytes) {
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  function fromHex(text) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    let difference = 0;
    for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
    return difference === 0;
  }

  /** Strict base64 (alphabet and padding, as Python's b64decode(validate=True)), or null. */
  function decodeBase64(text) {
    if (typeof text !== "string" || !BASE64.test(text) || text.length % 4 !== 0) return null;
    try {
      return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    } catch (error) {
      return null;
    }
  }

  function encodeBase64(bytes) {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  function isHash(value) {
    return value instanceof Uint8Array && value.length === HASH_SIZE;
  }

  // --- The event's integrity hash (chronicle.store.integrity) ------------------------------------

  /** SHA-256 of the canonical content; data and metadata given as canonical text already. */
  async function contentDigest(event, userId, dataText, metadataText) {
    const document =
      '{"aggregate_id":' +
      JSON.stringify(event.aggregate_id) +
      ',"aggregate_type":' +
      JSON.stringify(event.aggregate_type) +
      ',"data":' +
      dataText +
      ',"event_id":' +
      JSON.stringify(event.event_id) +
      ',"event_type":' +
      JSON.stringify(event.event_type) +
      ',"metadata":' +
      metadataText +
      ',"schema_version":' +
      String(event.schema_version) +
      ',"timestamp":' +
      JSON.stringify(event.timestamp) +
      ',"user_id":' +
      (userId === null ? "null" : JSON.stringify(userId)) +
      "}";
    return sha256(encoder.encode(document));
  }

  /** SHA-256(previous hash ‖ version as 8 bytes big-endian ‖ digest). */
  async function chain(previous, version, digest) {
    const counter = new Uint8Array(8);
    new DataView(counter.buffer).setBigUint64(0, BigInt(version));
    return sha256(concat(previous, counter, digest));
  }

  // --- RFC 9162 (chronicle.integrity.merkle) -----------------------------------------------------

  async function leafHash(data) {
    return sha256(concat(new Uint8Array([0]), data));
  }

  async function nodeHash(left, right) {
    return sha256(concat(new Uint8Array([1]), left, right));
  }

  function bitLength(n) {
    return n === 0n ? 0 : n.toString(2).length;
  }

  function bitCount(n) {
    return n.toString(2).replace(/0/g, "").length;
  }

  function inclusionLength(index, size) {
    // Below the level where the paths to `index` and to the last leaf part, every level gives
    // one sibling; above it only the levels where `index` has a left sibling (its set bits).
    const inner = bitLength(index ^ (size - 1n));
    return inner + bitCount(index >> BigInt(inner));
  }

  /**
   * Whether `path` proves the leaf hashing to `leaf` is at `index` of a tree of `treeSize`
   * leaves under `root` (RFC 9162 §2.1.3.2). Total: malformed input gives false, and a path
   * of any length other than the one the sizes call for is refused.
   */
  async function verifyInclusion(leaf, index, treeSize, path, root) {
    if (!(isHash(leaf) && isHash(root) && isWhole(index) && isWhole(treeSize))) return false;
    if (!(0 <= index && index < treeSize)) return false;
    if (!Array.isArray(path) || !path.every(isHash)) return false;
    let fn = BigInt(index);
    let sn = BigInt(treeSize) - 1n;
    if (path.length !== inclusionLength(fn, sn + 1n)) return false;
    let r = leaf;
    for (const p of path) {
      if (sn === 0n) return false;
      if (fn & 1n || fn === sn) {
        r = await nodeHash(p, r);
        // On the right border a node without a right sibling moves up unchanged.
        while (fn !== 0n && (fn & 1n) === 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equalBytes(r, root);
  }

  // --- Keys --------------------------------------------------------------------------------------

  function asBytes(raw) {
    if (raw instanceof Uint8Array) return raw;
    if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
    if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    throw new TypeError("a raw public key is a Uint8Array (or ArrayBuffer) of 32 bytes");
  }

  /** The id of a raw Ed25519 public key: the first 16 hex digits of its SHA-256. */
  async function keyIdOf(raw) {
    return toHex(await sha256(asBytes(raw))).slice(0, 16);
  }

  /**
   * A pinned public key, `KEY_ID:BASE64` (what `chronicle verify --show-key` prints) or a bare
   * `BASE64` of the raw 32 bytes: resolves to {keyId, raw}, or rejects with an Error saying
   * what is wrong (not base64, not 32 bytes, a key id that does not name the key).
   */
  async function parsePinnedKey(text) {
    if (typeof text !== "string") {
      throw new Error("the pinned key must be text: KEY_ID:BASE64, or the BASE64 of the raw key");
    }
    const entry = text.trim();
    if (!entry) {
      throw new Error(
        "no pinned key was given: paste KEY_ID:BASE64, as `chronicle verify --show-key` prints it",
      );
    }
    const at = entry.lastIndexOf(":");
    const named = at < 0 ? "" : entry.slice(0, at);
    const encoded = entry.slice(at + 1);
    const shown = JSON.stringify(entry.slice(0, 60));
    const raw = decodeBase64(encoded);
    if (raw === null) {
      throw new Error(
        `${shown} is not KEY_ID:BASE64 of an Ed25519 public key (the key is not base64)`,
      );
    }
    if (raw.length !== 32) {
      throw new Error(
        `${shown} is not KEY_ID:BASE64 of an Ed25519 public key (the key is ${raw.length} ` +
          "bytes; an Ed25519 public key is 32)",
      );
    }
    const actual = await keyIdOf(raw);
    if (named && (!KEY_ID.test(named) || named !== actual)) {
      throw new Error(
        `the key id ${JSON.stringify(named.slice(0, 20))} does not name the key that follows ` +
          `it (its id is ${actual}; the id is the first 16 hex digits of the SHA-256 of the ` +
          "raw key)",
      );
    }
    return { keyId: actual, raw };
  }

  async function signatureValid(raw, payload, signature) {
    try {
      const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, [
        "verify",
      ]);
      return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, payload);
    } catch (error) {
      return false; // a key Web Crypto refuses verifies nothing
    }
  }

  // --- The seal (chronicle.integrity.seals) ------------------------------------------------------

  function positive(document, name) {
    const value = own(document, name);
    if (value === undefined) throw new Error(`${name} is missing`);
    if (!isWhole(value) || value < 1) throw new Error(`${name} is not a whole number >= 1`);
    return value;
  }

  function whole(document, name) {
    const value = own(document, name);
    if (value === undefined) throw new Error(`${name} is missing`);
    if (!isWhole(value)) throw new Error(`${name} is not a whole number`);
    return value;
  }

  /** 32 bytes of hex, read as leniently as Python's bytes.fromhex (the form is checked later). */
  function digestOf(document, name) {
    const value = own(document, name);
    if (value === undefined) throw new Error(`${name} is missing`);
    if (typeof value !== "string" || !/^(?:\s*[0-9a-fA-F]{2})*\s*$/.test(value)) {
      throw new Error(`${name} is not hex`);
    }
    const compact = value.replace(/\s+/g, "").toLowerCase();
    if (compact.length !== 2 * HASH_SIZE) throw new Error(`${name} is not a 32-byte hex digest`);
    return fromHex(compact);
  }

  /** A seal as chronicle.integrity.seals.seal_from_dict reads it; throws saying what is wrong. */
  function parseSeal(document) {
    const number = positive(document, "number");
    whole(document, "position");
    digestOf(document, "last_hash");
    const sealedAt = own(document, "sealed_at");
    if (typeof sealedAt !== "string") throw new Error("sealed_at is not a time");
    if (!/(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(sealedAt)) {
      throw new Error("sealed_at has no time zone");
    }
    const publicKey = own(document, "public_key");
    if (truthy(publicKey) && decodeBase64(publicKey) === null) {
      throw new Error("public_key is not base64");
    }
    const signature = own(document, "signature");
    const hex = /^(?:\s*[0-9a-fA-F]{2})*\s*$/;
    if (truthy(signature) && (typeof signature !== "string" || !hex.test(signature))) {
      throw new Error("signature is not hex");
    }
    const format = own(document, "format");
    if (format === SEAL_FORMAT_V1) {
      positive(document, "event_count");
      digestOf(document, "head");
      return { number, treeSize: own(document, "event_count"), root: null, keyId: null };
    }
    if (format !== SEAL_FORMAT) {
      throw new Error(`format is neither '${SEAL_FORMAT}' nor '${SEAL_FORMAT_V1}'`);
    }
    if (!has(document, "key_id")) throw new Error("key_id is missing");
    const keyId = document.key_id;
    if (keyId !== null && typeof keyId !== "string") {
      throw new Error("key_id is neither a string nor null");
    }
    const treeSize = positive(document, "tree_size");
    digestOf(document, "log_head");
    const root = digestOf(document, "root");
    digestOf(document, "previous");
    return { number, treeSize, root, keyId };
  }

  function canonicalTime(text) {
    const match = TIMESTAMP.exec(text);
    if (match === null) return false;
    const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
    // Python writes years before 1000 unpadded: such a seal is not in the written form.
    return year >= 1000 && days !== undefined && day >= 1 && day <= days && hour < 24 &&
      minute < 60 && second < 60;
  }

  /** Whether the seal is exactly what Chronicle writes (seal_to_dict), so its signed bytes are
   * unambiguous: the payload's fields in their one text form, public_key and signature. */
  function inWrittenForm(document) {
    const keys = Object.keys(document);
    if (keys.length !== SEAL_FIELDS.length || !SEAL_FIELDS.every((name) => has(document, name))) {
      return false;
    }
    const publicKey = document.public_key;
    const signature = document.signature;
    const keyId = document.key_id;
    const publicRaw = publicKey === null ? null : decodeBase64(publicKey);
    const safe = (value) => Math.abs(value) <= MAX_SAFE_INTEGER; // else no payload can be signed
    return (
      ["number", "tree_size", "position"].every((name) => safe(document[name])) &&
      ["root", "log_head", "last_hash", "previous"].every((name) => HEX32.test(document[name])) &&
      canonicalTime(document.sealed_at) &&
      (keyId === null || isText(keyId)) &&
      (publicKey === null ||
        (publicRaw !== null && publicRaw.length > 0 && encodeBase64(publicRaw) === publicKey)) &&
      (signature === null ||
        (typeof signature === "string" && /^(?:[0-9a-f]{2})+$/.test(signature)))
    );
  }

  function shownKeyId(value) {
    return (typeof value === "string" ? `'${value}'` : String(value)).slice(0, 40);
  }

  /** The seal at `name` if it parses, and what is wrong with it (format, key, signature). */
  async function checkSeal(document, name, pinned) {
    if (kindOf(document) !== "object") {
      return { seal: null, failures: [`malformed document: ${name} is not a JSON object`] };
    }
    if (SEAL_NUMBERS.some((key) => has(document, key) && !isWhole(document[key]))) {
      return {
        seal: null,
        failures: [`malformed document: a number of ${name} is not a whole number`],
      };
    }
    let seal;
    try {
      seal = parseSeal(document);
    } catch (error) {
      return {
        seal: null,
        failures: [`malformed document: ${name} is not a Chronicle seal: ${error.message}`],
      };
    }
    const label = `${name} (seal ${seal.number})`;
    if (seal.root === null) {
      return {
        seal,
        failures: [`${label} is of format 1 (before the Merkle log): it has no root to prove`],
      };
    }
    if (!inWrittenForm(document)) {
      return {
        seal,
        failures: [`malformed document: ${name} is not a seal in the form Chronicle writes`],
      };
    }
    if (document.signature === null) {
      return { seal, failures: [`${label} is unsigned: nothing shows who made it`] };
    }
    if (pinned === null) {
      return {
        seal,
        failures: [
          `${label} is signed by key ${shownKeyId(seal.keyId)}, which is not trusted: ` +
            "no usable pinned key was given",
        ],
      };
    }
    if (seal.keyId !== pinned.keyId) {
      return {
        seal,
        failures: [
          `${label} is signed by key ${shownKeyId(seal.keyId)}, which is not trusted: ` +
            `the pinned key is '${pinned.keyId}'`,
        ],
      };
    }
    const payload = {};
    for (const field of SEAL_PAYLOAD) payload[field] = document[field];
    const signed = encoder.encode(canonical(payload, name));
    if (!(await signatureValid(pinned.raw, signed, fromHex(document.signature)))) {
      return {
        seal,
        failures: [`${label}'s signature is invalid: it was changed after signing`],
      };
    }
    return { seal, failures: [] };
  }

  // --- The event ---------------------------------------------------------------------------------

  function wrongFields(names) {
    return names.map(
      (name) => `malformed document: event.${name} is missing or of the wrong type`,
    );
  }

  /** The event's claimed hash (null if malformed), and what is wrong with the event. */
  async function checkEvent(event) {
    if (kindOf(event) !== "object") {
      return { claimed: null, failures: ["malformed document: event is not a JSON object"] };
    }
    const field = (name) => own(event, name);
    const wrong = TEXT_FIELDS.filter((name) => !isText(field(name)));
    const userId = field("user_id") ?? null; // missing is null, as in Python's event.get
    if (userId !== null && !isText(userId)) wrong.push("user_id");
    const version = field("version");
    const schemaVersion = field("schema_version");
    if (!(isWhole(version) && version >= 1 && BigInt(version) <= MAX_VERSION)) {
      wrong.push("version");
    }
    if (!(isWhole(schemaVersion) && Math.abs(schemaVersion) <= MAX_SAFE_INTEGER)) {
      wrong.push("schema_version");
    }
    if (!isWhole(field("position"))) wrong.push("position");
    const hex32 = (value) =>
      typeof value === "string" && HEX32.test(value) ? fromHex(value) : null;
    const previous = hex32(field("previous_hash"));
    const claimed = hex32(field("hash"));
    if (previous === null) wrong.push("previous_hash");
    if (claimed === null) wrong.push("hash");
    let dataText;
    let metadataText;
    try {
      const data = field("data");
      canonicalObject(data, "event.data"); // the data as stored must be storable JSON
      metadataText = canonicalObject(field("metadata"), "event.metadata");
      dataText = canonical(committedForm(data), "data");
    } catch (error) {
      if (!(error instanceof InvalidJson)) throw error;
      return { claimed, failures: [`malformed document: ${error.message}`, ...wrongFields(wrong)] };
    }
    if (wrong.length) return { claimed, failures: wrongFields(wrong) };
    const failures = [];
    if (version === 1 && !equalBytes(previous, GENESIS)) {
      failures.push("the event is version 1 but previous_hash is not 32 zero bytes");
    }
    const digest = await contentDigest(event, userId, dataText, metadataText);
    if (!equalBytes(await chain(previous, version, digest), claimed)) {
      failures.push("the event's hash does not match its content and previous_hash");
    }
    return { claimed, failures };
  }

  function hashList(value) {
    if (!Array.isArray(value)) return null;
    const hashes = [];
    for (const item of value) {
      if (typeof item !== "string" || !HEX32.test(item)) return null;
      hashes.push(fromHex(item));
    }
    return hashes;
  }

  // --- The inclusion proof -----------------------------------------------------------------------

  async function inclusionInto(result, document, pinnedKeyText) {
    const failures = result.failures;
    if (kindOf(document) !== "object") {
      failures.push("malformed document: it is not a JSON object");
      return;
    }
    if (own(document, "format") !== PROOF_FORMAT) {
      failures.push(`malformed document: format is not '${PROOF_FORMAT}'`);
    }
    const type = own(document, "type");
    if (type !== "inclusion") {
      failures.push(
        type === "consistency"
          ? "this is a consistency proof: only inclusion proofs are checked here"
          : "malformed document: type is neither 'inclusion' nor 'consistency'",
      );
      return;
    }
    let pinned = null;
    try {
      pinned = await parsePinnedKey(pinnedKeyText);
    } catch (error) {
      failures.push(`the pinned key cannot be used: ${error.message}`);
    }
    const { seal, failures: sealFailures } = await checkSeal(own(document, "seal"), "seal", pinned);
    failures.push(...sealFailures);
    if (seal !== null) {
      result.seal = seal.number;
      result.keyId = seal.keyId;
    }
    const { claimed, failures: eventFailures } = await checkEvent(own(document, "event"));
    failures.push(...eventFailures);
    const index = own(document, "leaf_index");
    const size = own(document, "tree_size");
    const path = hashList(own(document, "audit_path"));
    for (const [name, value] of [
      ["leaf_index", index],
      ["tree_size", size],
    ]) {
      if (!isWhole(value)) failures.push(`malformed document: ${name} is not a whole number`);
    }
    result.leafIndex = isWhole(index) ? index : null;
    result.treeSize = isWhole(size) ? size : null;
    if (path === null) {
      failures.push("malformed document: audit_path is not a list of 64-digit lowercase hex");
    }
    if (seal === null || seal.root === null || claimed === null || path === null) return;
    if (isWhole(size) && size !== seal.treeSize) {
      failures.push(`tree_size ${size} is not the seal's tree size ${seal.treeSize}`);
    }
    if (!(await verifyInclusion(await leafHash(claimed), index, size, path, seal.root))) {
      failures.push(
        "the audit path does not lead from the event's leaf to the seal's root " +
          `(leaf ${isWhole(index) ? index : "?"} of ${isWhole(size) ? size : "?"})`,
      );
    }
  }

  /**
   * Check an inclusion proof document (the parsed JSON) against the pinned public key
   * (`KEY_ID:BASE64` or `BASE64`). Never throws: resolves to
   * {valid, seal (its number or null), keyId (the seal's key id or null), treeSize, leafIndex,
   *  failures (each check that failed, in words; empty when valid)}.
   */
  async function checkInclusion(documentObject, pinnedKeyText) {
    const result = {
      valid: false,
      seal: null,
      keyId: null,
      treeSize: null,
      leafIndex: null,
      failures: [],
    };
    if (typeof crypto === "undefined" || !crypto.subtle) {
      result.failures.push(
        "Web Crypto is not available: open this page over https (or http from localhost)",
      );
      return result;
    }
    try {
      await inclusionInto(result, documentObject, pinnedKeyText);
    } catch (error) {
      result.failures.push(`the proof could not be checked: ${error && error.message}`);
    }
    result.valid = result.failures.length === 0;
    return result;
  }

  /** The content digest (hex) of an event as a proof document holds it; for tests. */
  async function contentDigestOf(event) {
    canonicalObject(event.data, "event.data");
    const metadata = canonicalObject(event.metadata, "event.metadata");
    const data = canonical(committedForm(event.data), "data");
    return toHex(await contentDigest(event, event.user_id ?? null, data, metadata));
  }

  window.ChronicleProof = Object.freeze({
    checkInclusion,
    parsePinnedKey,
    keyIdOf,
    _canonical: (value) => canonical(value),
    _contentDigest: contentDigestOf,
  });
})();
