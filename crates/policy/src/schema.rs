//! Turnkey's object model as the checker sees it: which keywords each field of a policy may use
//! and the fields (and their types) of every struct, from tkhq/docs
//! `features/policies/language.mdx` (Keywords, Struct, Nested structs). A name not listed here is
//! rejected when the policy is written; free-form maps (`activity.params`,
//! `eth.tx.contract_call_args`, `eth.eip_712.message`, `parsed_instruction_data`) are typed
//! [`FieldTy::Dyn`] and checked only at evaluation.

use crate::Scope;

/// A struct: named fields with types. A *namespace* (`eth`, `solana`, `time` …) only groups
/// keywords and is not a value of its own: `eth.tx` is, `eth` is not.
#[derive(Debug)]
pub struct Struct {
    pub name: &'static str,
    pub namespace: bool,
    pub fields: &'static [(&'static str, FieldTy)],
}

impl Struct {
    /// The type of field `name`, if the struct has it.
    pub fn field(&self, name: &str) -> Option<FieldTy> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }

    /// The field names, comma-separated, for error messages.
    pub fn field_list(&self) -> String {
        self.fields
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The type of a schema field.
#[derive(Debug, Clone, Copy)]
pub enum FieldTy {
    Bool,
    Int,
    Str,
    Time,
    /// A free-form value: any kind, checked at evaluation.
    Dyn,
    Struct(&'static Struct),
    List(Elem),
}

/// The element type of a schema list.
#[derive(Debug, Clone, Copy)]
pub enum Elem {
    Int,
    Str,
    Struct(&'static Struct),
}

/// The keywords of `scope`, as the fields of one namespace.
pub fn roots(scope: Scope) -> &'static Struct {
    match scope {
        Scope::Consensus => &CONSENSUS,
        Scope::Condition => &CONDITION,
        Scope::Time => &TIME_SCOPE,
    }
}

macro_rules! schema {
    ($($id:ident $name:literal $ns:literal { $($field:literal : $ty:expr),* $(,)? })*) => {
        $(pub static $id: Struct = Struct {
            name: $name,
            namespace: $ns,
            fields: &[$(($field, $ty)),*],
        };)*
    };
}

use Elem as E;
use FieldTy as T;

schema! {
    CONSENSUS "consensus" true {
        "approvers": T::List(E::Struct(&USER)),
        "credentials": T::List(E::Struct(&CREDENTIAL)),
    }
    CONDITION "condition" true {
        "activity": T::Struct(&ACTIVITY),
        "wallet": T::Struct(&WALLET),
        "wallets": T::List(E::Struct(&WALLET)),
        "wallet_account": T::Struct(&WALLET_ACCOUNT),
        "private_key": T::Struct(&PRIVATE_KEY),
        "eth": T::Struct(&ETH),
        "solana": T::Struct(&SOLANA),
        "tron": T::Struct(&TRON),
        "bitcoin": T::Struct(&BITCOIN),
        "tempo": T::Struct(&TEMPO),
        "time": T::Struct(&TIME),
    }
    TIME_SCOPE "time" true {
        "time": T::Struct(&TIME),
    }
    TIME "time" true {
        "now": T::Time,
    }
    USER "User" false {
        "id": T::Str, "tags": T::List(E::Str), "email": T::Str, "alias": T::Str,
    }
    CREDENTIAL "Credential" false {
        "id": T::Str, "user_id": T::Str, "type": T::Str, "credential_id": T::Str,
        "public_key": T::Str,
    }
    ACTIVITY "Activity" false {
        "type": T::Str, "kind": T::Str, "resource": T::Str, "action": T::Str, "params": T::Dyn,
    }
    WALLET "Wallet" false {
        "id": T::Str, "imported": T::Bool, "exported": T::Bool, "label": T::Str,
    }
    WALLET_ACCOUNT "WalletAccount" false {
        "address": T::Str,
    }
    PRIVATE_KEY "PrivateKey" false {
        "id": T::Str, "tags": T::List(E::Str), "imported": T::Bool, "exported": T::Bool,
        "label": T::Str,
    }
    ETH "eth" true {
        "tx": T::Struct(&ETH_TX),
        "eip_712": T::Struct(&EIP712),
        "eip_7702_authorization": T::Struct(&EIP7702),
    }
    ETH_TX "EthereumTransaction" false {
        "from": T::Str, "to": T::Str, "data": T::Str, "value": T::Int, "gas": T::Int,
        "gas_price": T::Int, "chain_id": T::Int, "nonce": T::Int, "max_fee_per_gas": T::Int,
        "max_priority_fee_per_gas": T::Int, "max_fee_per_blob_gas": T::Int, "type": T::Str,
        "function_name": T::Str, "function_signature": T::Str, "contract_call_args": T::Dyn,
    }
    EIP712 "Eip712TypedData" false {
        "primary_type": T::Str, "domain": T::Struct(&EIP712_DOMAIN), "message": T::Dyn,
    }
    EIP712_DOMAIN "Eip712Domain" false {
        "name": T::Str, "version": T::Str, "chain_id": T::Int, "verifying_contract": T::Str,
    }
    EIP7702 "Eip7702Authorization" false {
        "address": T::Str, "chain_id": T::Int, "nonce": T::Int,
    }
    SOLANA "solana" true {
        "tx": T::Struct(&SOLANA_TX),
    }
    SOLANA_TX "SolanaTransaction" false {
        "static_account_keys": T::List(E::Str),
        "account_keys": T::List(E::Str),
        "top_level_program_keys": T::List(E::Str),
        "program_keys": T::List(E::Str),
        "top_level_instructions": T::List(E::Struct(&SOL_INSTRUCTION)),
        "instructions": T::List(E::Struct(&SOL_INSTRUCTION)),
        "transfers": T::List(E::Struct(&SOL_TRANSFER)),
        "recent_blockhash": T::Str,
        "spl_transfers": T::List(E::Struct(&SOL_SPL_TRANSFER)),
        "address_table_lookups": T::List(E::Struct(&SOL_LOOKUP)),
        "address_table_lookup_references": T::List(E::Struct(&SOL_LOOKUP_REF)),
    }
    SOL_INSTRUCTION "Instruction" false {
        "program_key": T::Str,
        "accounts": T::List(E::Struct(&SOL_ACCOUNT)),
        "instruction_data_hex": T::Str,
        "address_table_lookups": T::List(E::Struct(&SOL_LOOKUP_REF)),
        "parsed_instruction_data": T::Dyn,
    }
    SOL_TRANSFER "Transfer" false {
        "from": T::Str, "to": T::Str, "amount": T::Int,
    }
    SOL_SPL_TRANSFER "SPLTransfer" false {
        "from": T::Str, "to": T::Str, "amount": T::Int, "owner": T::Str,
        "signers": T::List(E::Str), "token_mint": T::Str,
    }
    SOL_ACCOUNT "Account" false {
        "account_key": T::Str, "signer": T::Bool, "writable": T::Bool,
    }
    SOL_LOOKUP "AddressTableLookup" false {
        "address_table_key": T::Str, "writable_indexes": T::List(E::Int),
        "readonly_indexes": T::List(E::Int),
    }
    SOL_LOOKUP_REF "AddressTableLookupReference" false {
        "address_table_key": T::Str, "index": T::Int, "writable": T::Bool,
    }
    TRON "tron" true {
        "tx": T::Struct(&TRON_TX),
    }
    TRON_TX "TronTransaction" false {
        "ref_block_bytes": T::Str, "ref_block_hash": T::Str, "expiration": T::Int,
        "timestamp": T::Int, "data": T::Str, "fee_limit": T::Int,
        "contract": T::List(E::Struct(&TRON_CONTRACT)),
    }
    TRON_CONTRACT "TronContract" false {
        "type": T::Str, "permission_id": T::Int, "owner_address": T::Str, "to_address": T::Str,
        "amount": T::Int, "contract_address": T::Str, "call_value": T::Int, "data": T::Str,
        "call_token_value": T::Int, "token_id": T::Int, "resource": T::Str, "balance": T::Int,
        "receiver_address": T::Str, "lock": T::Bool, "lock_period": T::Int,
        "frozen_balance": T::Int, "unfreeze_balance": T::Int,
        "owner": T::Struct(&TRON_PERMISSION), "witness": T::Struct(&TRON_PERMISSION),
        "actives": T::List(E::Struct(&TRON_PERMISSION)),
    }
    TRON_PERMISSION "TronPermission" false {
        "type": T::Str, "id": T::Int, "permission_name": T::Str, "threshold": T::Int,
        "parent_id": T::Int, "operations": T::Str, "keys": T::List(E::Struct(&TRON_KEY)),
    }
    TRON_KEY "TronKey" false {
        "address": T::Str, "weight": T::Int,
    }
    BITCOIN "bitcoin" true {
        "tx": T::Struct(&BITCOIN_TX),
    }
    BITCOIN_TX "BitcoinTransaction" false {
        "version": T::Str, "inputs": T::List(E::Struct(&BTC_INPUT)),
        "outputs": T::List(E::Struct(&BTC_OUTPUT)), "locktime": T::Struct(&BTC_LOCKTIME),
        "fee": T::Int,
    }
    BTC_INPUT "BitcoinTxInput" false {
        "tx_id": T::Str, "vout": T::Int, "sequence": T::Int,
    }
    BTC_OUTPUT "BitcoinTxOutput" false {
        "value": T::Int, "script_pubkey": T::Str, "address": T::Str, "address_type": T::Str,
    }
    BTC_LOCKTIME "BitcoinTxLocktime" false {
        "amount": T::Int, "type": T::Str,
    }
    TEMPO "tempo" true {
        "tx": T::Struct(&TEMPO_TX),
    }
    TEMPO_TX "TempoTransaction" false {
        "chain_id": T::Int, "from": T::Str, "nonce": T::Int, "gas_limit": T::Int,
        "max_fee_per_gas": T::Int, "max_priority_fee_per_gas": T::Int, "fee_token": T::Str,
        "valid_before": T::Int, "valid_after": T::Int,
        "calls": T::List(E::Struct(&TEMPO_CALL)),
    }
    TEMPO_CALL "TempoCall" false {
        "to": T::Str, "value": T::Int, "input": T::Str, "function_signature": T::Str,
    }
}
