"""The hot path signs with libsecp256k1 (coincurve), and its signatures are the pure-Python ones."""

from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_keys import KeyAPI
from eth_keys.backends import CoinCurveECCBackend, NativeECCBackend

KEY = "0x" + "4c" * 32
TX = {
    "type": 2,
    "chainId": 31337,
    "nonce": 7,
    "to": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "data": "0xd0e30db0",
    "value": 0,
    "gas": 210_000,
    "maxFeePerGas": 2 * 10**9,
    "maxPriorityFeePerGas": 10**9,
}


def test_the_engine_signs_with_coincurve() -> None:
    account = Account.from_key(KEY)  # what keystore.load_account returns
    assert isinstance(account._key_obj.backend, CoinCurveECCBackend)


def test_coincurve_signature_is_the_pure_python_one() -> None:
    signed = Account.from_key(KEY).sign_transaction(TX)
    digest = TypedTransaction.from_dict(TX).hash()
    native = KeyAPI(NativeECCBackend()).PrivateKey(bytes.fromhex(KEY[2:])).sign_msg_hash(digest)
    assert (signed.v, signed.r, signed.s) == (native.v, native.r, native.s)
    # and the node would recover the engine's address from it
    assert Account.recover_transaction(signed.raw_transaction) == Account.from_key(KEY).address
