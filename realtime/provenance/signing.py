"""Signed recordings: a C2PA manifest in ``file:`` recordings that says an AI model altered them.

C2PA (the Coalition for Content Provenance and Authenticity's format, read by Adobe's Content
Credentials, camera makers' and news organisations' tools) binds a signed statement to the file's
bytes: change a byte of the video and the signature no longer matches. swapcam states two actions,
``c2pa.created`` with the digital source type *composite with trained algorithmic media* (a camera
picture with an AI-made face in it) and ``c2pa.edited`` with *trained algorithmic media* (the face,
made by the named swap model), plus the model's fingerprint that the invisible mark carries.

Signing needs the ``provenance`` extra (c2pa-python) and a certificate chain with its key
(``--sign-cert``, ``--sign-key``); the recording is signed when it is closed, into a temporary file
that then replaces it, so a failed signing never leaves half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..core.errors import UserError

if TYPE_CHECKING:
    from .label import ProvenanceSettings

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
COMPOSITE_AI = IPTC + "compositeWithTrainedAlgorithmicMedia"
TRAINED_AI = IPTC + "trainedAlgorithmicMedia"
INSTALL = "pip install 'swapcam[provenance]'"
MEDIA_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime"}


@dataclass(frozen=True)
class Signing:
    cert_pem: bytes
    key_pem: bytes
    alg: str  # c2pa's name: es256, es384, es512, ps256, ed25519


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError:
        raise UserError(f"signing and reading C2PA manifests needs c2pa-python: {INSTALL}") from None
    return c2pa


def key_algorithm(key_pem: bytes, path: str) -> str:
    """The C2PA signing algorithm for a PEM private key (EC P-256/384/521, RSA, Ed25519)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as err:
        raise UserError(
            f"--sign-key {path} is not an unencrypted PEM private key ({err}): export it without a password"
        ) from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        names = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in names:
            return names[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise UserError(f"--sign-key {path}: C2PA signs with EC P-256/384/521, RSA or Ed25519 keys, not this one")


def load_signing(settings: ProvenanceSettings, outputs: Sequence[str]) -> Signing | None:
    """The signing credentials of a run, checked before it starts (None when not signing)."""
    if settings.sign_cert is None and settings.sign_key is None:
        return None
    if settings.sign_cert is None or settings.sign_key is None:
        raise UserError("--sign-cert and --sign-key go together: give the certificate chain and its private key")
    if not recording_paths(outputs):
        raise UserError("--sign-cert signs file recordings: add --output file:rec.mp4")
    _c2pa()
    pems = []
    for flag, name in (("--sign-cert", settings.sign_cert), ("--sign-key", settings.sign_key)):
        try:
            pems.append(Path(name).read_bytes())
        except OSError as err:
            raise UserError(f"{flag} {name} cannot be read ({err.strerror}): check the path") from None
    if b"BEGIN CERTIFICATE" not in pems[0]:
        raise UserError(f"--sign-cert {settings.sign_cert} holds no PEM certificate: give the chain, signer first")
    return Signing(pems[0], pems[1], key_algorithm(pems[1], settings.sign_key))


def recording_paths(outputs: Sequence[str]) -> list[Path]:
    """The files of ``file:`` outputs in a list of output specs."""
    return [Path(spec.partition(":")[2]) for spec in outputs if spec.partition(":")[0] == "file"]


def manifest(title: str, model: str, fingerprint: str) -> dict[str, Any]:
    agent = {"name": "swapcam", "version": __version__}
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {"action": "c2pa.created", "digitalSourceType": COMPOSITE_AI, "softwareAgent": agent},
                        {
                            "action": "c2pa.edited",
                            "digitalSourceType": TRAINED_AI,
                            "softwareAgent": agent,
                            "description": f"face replaced by the AI swap model {model}",
                            "parameters": {"model": model, "model_fingerprint": fingerprint},
                        },
                    ]
                },
            }
        ],
    }


def sign_recording(path: Path, signing: Signing, model: str, fingerprint: str) -> None:
    """Sign the closed recording at ``path`` in place (through a temporary file beside it)."""
    c2pa = _c2pa()
    media_type = MEDIA_TYPES.get(path.suffix.lower())
    if media_type is None:
        raise UserError(f"C2PA signing writes .mp4 or .mov recordings, not {path.name}: rename the output")
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(signing.alg, signing.cert_pem, signing.key_pem, None))
    temporary = path.with_name(path.name + ".signing" + path.suffix)
    try:
        with c2pa.Builder(json.dumps(manifest(path.name, model, fingerprint))) as builder:
            builder.sign_file(str(path), str(temporary), signer)
        os.replace(temporary, path)
    except c2pa.C2paError as err:
        raise UserError(f"signing {path} failed ({err}): check that the certificate matches the key") from None
    finally:
        signer.close()
        temporary.unlink(missing_ok=True)


def sign_recordings(
    outputs: Sequence[str], signing: Signing, model: str, fingerprint: str, log: Callable[[str], None]
) -> None:
    for path in recording_paths(outputs):
        if path.is_file():
            sign_recording(path, signing, model, fingerprint)
            log(f"swapcam: signed {path} (C2PA: altered by an AI model, {model} {fingerprint})")


def read_manifest(path: Path, trust_pem: str | None = None) -> dict[str, Any] | None:
    """What a file's C2PA manifest says, or None when it has none: who signed, the actions and their
    digital source types, whether the signature and the hashes hold and (with ``trust_pem``, a PEM
    of trusted roots) whether the signer is trusted."""
    c2pa = _c2pa()
    context = None
    if trust_pem is not None:
        settings = c2pa.Settings.from_dict({"trust": {"trust_anchors": trust_pem}, "verify": {"verify_trust": True}})
        context = c2pa.Context(settings)
    try:
        with c2pa.Reader(str(path), context=context) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError as err:
        if "ManifestNotFound" in type(err).__name__ or "no JUMBF" in str(err) or "not found" in str(err).lower():
            return None
        return {"valid": False, "problems": [str(err)]}
    active = store["manifests"][store["active_manifest"]]
    actions = [
        {"action": a.get("action"), "digitalSourceType": a.get("digitalSourceType", "").rpartition("/")[2]}
        for assertion in active.get("assertions", [])
        if assertion.get("label", "").startswith("c2pa.actions")
        for a in assertion["data"].get("actions", [])
    ]
    statuses = [entry["code"] for entry in store.get("validation_status", [])]
    untrusted = {"signingCredential.untrusted"}
    problems = [code for code in statuses if code not in untrusted]
    info = active.get("signature_info", {})
    return {
        "valid": not problems,
        "trusted": not problems and not (set(statuses) & untrusted),
        "signed_by": info.get("common_name"),
        "issuer": info.get("issuer"),
        "actions": actions,
        "ai_altered": any(a["digitalSourceType"].lower().endswith("trainedalgorithmicmedia") for a in actions),
        "problems": problems,
    }
