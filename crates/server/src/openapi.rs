//! The OpenAPI document, built from the same tables that route requests, so every served
//! route is described.

use crate::known_paths;
use quorate_app::query::QUERY_PATHS;
use quorate_domain::catalog;
use quorate_proto::{intents, policy, types as wire, vault, ErrorBody};
use std::sync::OnceLock;
use utoipa::openapi::path::{OperationBuilder, PathItemBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder,
    PathsBuilder, Ref, RefOr, Required, ResponseBuilder,
};

/// (path, request schema, response schema) of every query quorate answers.
fn query_schema(name: &str) -> (&'static str, &'static str) {
    match name {
        "whoami" => ("OrganizationRequest", "WhoamiResponse"),
        "get_organization" => ("OrganizationRequest", "GetOrganizationResponse"),
        "get_organization_configs" => ("OrganizationRequest", "GetOrganizationConfigsResponse"),
        "list_suborgs" => ("GetSubOrgIdsRequest", "GetSubOrgIdsResponse"),
        "get_user" => ("GetUserRequest", "GetUserResponse"),
        "list_users" => ("OrganizationRequest", "GetUsersResponse"),
        "list_user_tags" => ("OrganizationRequest", "ListUserTagsResponse"),
        "get_api_key" => ("GetApiKeyRequest", "GetApiKeyResponse"),
        "get_api_keys" => ("GetApiKeysRequest", "GetApiKeysResponse"),
        "get_activity" => ("GetActivityRequest", "ActivityResponse"),
        "get_wallet" => ("GetWalletRequest", "GetWalletResponse"),
        "list_wallets" => ("OrganizationRequest", "GetWalletsResponse"),
        "get_wallet_account" => ("GetWalletAccountRequest", "GetWalletAccountResponse"),
        "list_wallet_accounts" => ("GetWalletAccountsRequest", "GetWalletAccountsResponse"),
        "get_private_key" => ("GetPrivateKeyRequest", "GetPrivateKeyResponse"),
        "list_private_keys" => ("OrganizationRequest", "GetPrivateKeysResponse"),
        "list_private_key_tags" => ("OrganizationRequest", "ListPrivateKeyTagsResponse"),
        "get_policy" => ("GetPolicyRequest", "GetPolicyResponse"),
        "list_policies" => ("OrganizationRequest", "GetPoliciesResponse"),
        "get_policy_evaluations" => ("GetActivityRequest", "GetPolicyEvaluationsResponse"),
        _ => ("GetActivitiesRequest", "GetActivitiesResponse"),
    }
}

fn intent_schema(path: &str) -> &'static str {
    match path {
        "create_sub_organization" => "CreateSubOrganizationIntent",
        "delete_sub_organization" => "DeleteSubOrganizationIntent",
        "create_users" => "CreateUsersIntent",
        "create_api_only_users" => "CreateApiOnlyUsersIntent",
        "update_user" => "UpdateUserIntent",
        "delete_users" => "DeleteUsersIntent",
        "create_user_tag" => "CreateUserTagIntent",
        "update_user_tag" => "UpdateUserTagIntent",
        "delete_user_tags" => "DeleteUserTagsIntent",
        "create_api_keys" => "CreateApiKeysIntent",
        "create_wallet" => "CreateWalletIntent",
        "create_wallet_accounts" => "CreateWalletAccountsIntent",
        "update_wallet" => "UpdateWalletIntent",
        "delete_wallets" => "DeleteWalletsIntent",
        "export_wallet" => "ExportWalletIntent",
        "export_wallet_account" => "ExportWalletAccountIntent",
        "init_import_wallet" | "init_import_private_key" => "InitImportIntent",
        "import_wallet" => "ImportWalletIntent",
        "import_private_key" => "ImportPrivateKeyIntent",
        "create_private_keys" => "CreatePrivateKeysIntent",
        "delete_private_keys" => "DeletePrivateKeysIntent",
        "export_private_key" => "ExportPrivateKeyIntent",
        "create_private_key_tag" => "CreatePrivateKeyTagIntent",
        "update_private_key_tag" => "UpdatePrivateKeyTagIntent",
        "delete_private_key_tags" => "DeletePrivateKeyTagsIntent",
        "sign_raw_payload" => "SignRawPayloadIntent",
        "sign_raw_payloads" => "SignRawPayloadsIntent",
        "sign_transaction" => "SignTransactionIntent",
        "create_policy" => "CreatePolicyIntent",
        "create_policies" => "CreatePoliciesIntent",
        "update_policy" => "UpdatePolicyIntent",
        "delete_policy" => "DeletePolicyIntent",
        "delete_policies" => "DeletePoliciesIntent",
        "set_organization_feature" => "SetOrganizationFeatureIntent",
        "remove_organization_feature" => "RemoveOrganizationFeatureIntent",
        "update_root_quorum" => "UpdateRootQuorumIntent",
        "approve_activity" | "reject_activity" => "VoteIntent",
        _ => "DeleteApiKeysIntent",
    }
}

fn json_content(schema: impl Into<RefOr<Schema>>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn error_response(desc: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(desc)
        .content(
            "application/json",
            json_content(Ref::from_schema_name("ErrorBody")),
        )
        .build()
}

fn post(
    op_id: String,
    summary: String,
    request: RefOr<Schema>,
    response: &str,
) -> utoipa::openapi::PathItem {
    let op = OperationBuilder::new()
        .operation_id(Some(op_id))
        .summary(Some(summary))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json_content(request))
                .required(Some(Required::True))
                .build(),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("success")
                .content(
                    "application/json",
                    json_content(Ref::from_schema_name(response)),
                )
                .build(),
        )
        .response("400", error_response("invalid request (code 3)"))
        .response("401", error_response("missing or invalid stamp (code 16)"))
        .response("403", error_response("not authorized (code 7)"))
        .response("404", error_response("not found (code 5)"))
        .parameter(
            utoipa::openapi::path::ParameterBuilder::new()
                .name("X-Stamp")
                .parameter_in(utoipa::openapi::path::ParameterIn::Header)
                .required(Required::True)
                .description(Some(
                    "base64url JSON {publicKey, scheme, signature} over the exact body",
                ))
                .build(),
        )
        .build();
    PathItemBuilder::new()
        .operation(HttpMethod::Post, op)
        .build()
}

fn not_implemented(op_id: String) -> utoipa::openapi::PathItem {
    let op = OperationBuilder::new()
        .operation_id(Some(op_id))
        .summary(Some("Not implemented yet"))
        .response("501", error_response("NOT_IMPLEMENTED (code 12)"))
        .build();
    PathItemBuilder::new()
        .operation(HttpMethod::Post, op)
        .build()
}

fn get(op_id: &str, summary: &str) -> utoipa::openapi::PathItem {
    methods(&[(HttpMethod::Get, op_id, summary)])
}

/// A path with one described operation per method (200 with no schema).
fn methods(ops: &[(HttpMethod, &str, &str)]) -> utoipa::openapi::PathItem {
    let mut item = PathItemBuilder::new();
    for (method, op_id, summary) in ops {
        let op = OperationBuilder::new()
            .operation_id(Some(*op_id))
            .summary(Some(*summary))
            .response("200", ResponseBuilder::new().description("success").build())
            .build();
        item = item.operation(method.clone(), op);
    }
    item.build()
}

/// Registers `T` and every schema it refers to.
fn with_nested<T: utoipa::ToSchema>(builder: ComponentsBuilder) -> ComponentsBuilder {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    builder.schema_from::<T>().schemas_from_iter(nested)
}

/// The document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for name in known_paths::QUERY {
        let path = format!("/public/v1/query/{name}");
        let item = if QUERY_PATHS.contains(name) {
            let (req, resp) = query_schema(name);
            post(
                format!("query_{name}"),
                format!("Query `{name}`"),
                Ref::from_schema_name(req).into(),
                resp,
            )
        } else {
            not_implemented(format!("query_{name}"))
        };
        paths = paths.path(path, item);
    }
    for name in known_paths::SUBMIT {
        let path = format!("/public/v1/submit/{name}");
        let mut types = catalog::types_for_path(name);
        match *name {
            "approve_activity" => types.push("ACTIVITY_TYPE_APPROVE_ACTIVITY"),
            "reject_activity" => types.push("ACTIVITY_TYPE_REJECT_ACTIVITY"),
            _ => {}
        }
        let item = if types.is_empty() {
            not_implemented(format!("submit_{name}"))
        } else {
            let body = ObjectBuilder::new()
                .property(
                    "type",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(types.clone())),
                )
                .required("type")
                .property(
                    "timestampMs",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .description(Some("milliseconds since the epoch, as a string")),
                )
                .required("timestampMs")
                .property(
                    "organizationId",
                    ObjectBuilder::new().schema_type(Type::String),
                )
                .required("organizationId")
                .property("parameters", Ref::from_schema_name(intent_schema(name)))
                .required("parameters")
                .property(
                    "generateAppProofs",
                    ObjectBuilder::new().schema_type(Type::Boolean),
                )
                .build();
            post(
                format!("submit_{name}"),
                format!("Submit `{}`", types.join(" | ")),
                Schema::Object(body).into(),
                "ActivityResponse",
            )
        };
        paths = paths.path(path, item);
    }
    paths = paths
        .path("/health", get("health", "Process is up"))
        .path("/ready", get("ready", "Store is reachable"))
        .path("/metrics", get("metrics", "Prometheus metrics"))
        .path("/openapi.json", get("openapi", "This document"))
        .path(
            "/public/v1/signer",
            get(
                "signer",
                "The P-256 key that signs export/import bundles (SignerResponse): pass it to @turnkey/crypto as dangerouslyOverrideSignerPublicKey",
            ),
        );
    let mut components = ComponentsBuilder::new();
    macro_rules! schemas {
        ($($t:ty),* $(,)?) => { $( components = with_nested::<$t>(components); )* };
    }
    schemas!(
        ErrorBody,
        wire::OrganizationRequest,
        wire::GetUserRequest,
        wire::GetApiKeyRequest,
        wire::GetApiKeysRequest,
        wire::GetActivityRequest,
        wire::GetActivitiesRequest,
        wire::GetSubOrgIdsRequest,
        wire::WhoamiResponse,
        wire::GetOrganizationResponse,
        wire::GetOrganizationConfigsResponse,
        wire::GetSubOrgIdsResponse,
        wire::GetUserResponse,
        wire::GetUsersResponse,
        wire::ListUserTagsResponse,
        wire::GetApiKeyResponse,
        wire::GetApiKeysResponse,
        wire::ActivityResponse,
        wire::GetActivitiesResponse,
        intents::CreateSubOrganizationIntent,
        intents::DeleteSubOrganizationIntent,
        intents::CreateUsersIntent,
        intents::CreateApiOnlyUsersIntent,
        intents::UpdateUserIntent,
        intents::DeleteUsersIntent,
        intents::CreateUserTagIntent,
        intents::UpdateUserTagIntent,
        intents::DeleteUserTagsIntent,
        intents::CreateApiKeysIntent,
        intents::DeleteApiKeysIntent,
        vault::CreateWalletIntent,
        vault::CreateWalletAccountsIntent,
        vault::UpdateWalletIntent,
        vault::DeleteWalletsIntent,
        vault::ExportWalletIntent,
        vault::ExportWalletAccountIntent,
        vault::InitImportIntent,
        vault::ImportWalletIntent,
        vault::ImportPrivateKeyIntent,
        vault::CreatePrivateKeysIntent,
        vault::DeletePrivateKeysIntent,
        vault::ExportPrivateKeyIntent,
        vault::CreatePrivateKeyTagIntent,
        vault::UpdatePrivateKeyTagIntent,
        vault::DeletePrivateKeyTagsIntent,
        vault::SignRawPayloadIntent,
        vault::SignRawPayloadsIntent,
        vault::SignTransactionIntent,
        vault::GetWalletRequest,
        vault::GetWalletAccountRequest,
        vault::GetWalletAccountsRequest,
        vault::GetPrivateKeyRequest,
        vault::GetWalletResponse,
        vault::GetWalletsResponse,
        vault::GetWalletAccountResponse,
        vault::GetWalletAccountsResponse,
        vault::GetPrivateKeyResponse,
        vault::GetPrivateKeysResponse,
        vault::ListPrivateKeyTagsResponse,
        vault::SignerResponse,
        policy::CreatePolicyIntent,
        policy::CreatePoliciesIntent,
        policy::UpdatePolicyIntent,
        policy::DeletePolicyIntent,
        policy::DeletePoliciesIntent,
        policy::SetOrganizationFeatureIntent,
        policy::RemoveOrganizationFeatureIntent,
        policy::UpdateRootQuorumIntent,
        policy::GetPolicyRequest,
        policy::GetPolicyResponse,
        policy::GetPoliciesResponse,
        policy::VoteIntent,
        policy::GetPolicyEvaluationsResponse,
    );
    let components = components.build();
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("quorate").version(env!("CARGO_PKG_VERSION")).description(Some("Turnkey-compatible API of quorate. Errors: google.rpc.Status with a TurnkeyErrorDetail.")).build())
        .paths(paths.build())
        .components(Some(components))
        .build()
}

/// The document as JSON bytes, built once.
pub fn document_json() -> Vec<u8> {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    DOC.get_or_init(|| {
        let Ok(mut doc) = serde_json::to_value(document()) else {
            return Vec::new();
        };
        // The `/v1` operations come from the route tables the server enforces.
        if let Some(paths) = doc["paths"].as_object_mut() {
            paths.extend(crate::v1::openapi_paths());
        }
        if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
            schemas.extend(crate::v1::schema::components());
        }
        doc["components"]["securitySchemes"] =
            serde_json::json!({"bearer": {"type": "http", "scheme": "bearer", "description": "A management-API key: sk_live_…, sk_test_…, pk_live_…, pk_test_…"}});
        serde_json::to_vec(&doc).unwrap_or_default()
    })
    .clone()
}
