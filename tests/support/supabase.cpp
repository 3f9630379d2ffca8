#include "support/supabase.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace cdc::testing {
namespace {

/// Run as supabase_admin in database postgres. GoTrue's auth.users is its
/// table after its migrations (up to is_anonymous); the grants are Supabase's
/// as far as customer-cdc is concerned: postgres may put triggers on
/// auth.users, and holds nothing else there beyond USAGE on the schema.
const char* const kSupabaseSetupSql = R"sql(
CREATE ROLE postgres LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE NOREPLICATION;
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;

GRANT ALL ON DATABASE postgres TO postgres;
GRANT USAGE, CREATE ON SCHEMA public TO postgres;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
-- What postgres creates in public, the API roles may use (Supabase's default privileges).
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;

CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO postgres, anon, authenticated, service_role;
ALTER ROLE supabase_auth_admin SET search_path = auth;

SET ROLE supabase_auth_admin;
-- GoTrue's auth.users (its migrations up to is_anonymous), owned by supabase_auth_admin.
CREATE TABLE auth.users (
    instance_id uuid NULL,
    id uuid NOT NULL,
    aud varchar(255) NULL,
    "role" varchar(255) NULL,
    email varchar(255) NULL,
    encrypted_password varchar(255) NULL,
    email_confirmed_at timestamptz NULL,
    invited_at timestamptz NULL,
    confirmation_token varchar(255) NULL,
    confirmation_sent_at timestamptz NULL,
    recovery_token varchar(255) NULL,
    recovery_sent_at timestamptz NULL,
    email_change_token_new varchar(255) NULL,
    email_change varchar(255) NULL,
    email_change_sent_at timestamptz NULL,
    last_sign_in_at timestamptz NULL,
    raw_app_meta_data jsonb NULL,
    raw_user_meta_data jsonb NULL,
    is_super_admin bool NULL,
    created_at timestamptz NULL,
    updated_at timestamptz NULL,
    phone text NULL DEFAULT NULL::character varying,
    phone_confirmed_at timestamptz NULL,
    phone_change text NULL DEFAULT ''::character varying,
    phone_change_token varchar(255) NULL DEFAULT ''::character varying,
    phone_change_sent_at timestamptz NULL,
    confirmed_at timestamptz GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
    email_change_token_current varchar(255) NULL DEFAULT ''::character varying,
    email_change_confirm_status smallint NULL DEFAULT 0,
    banned_until timestamptz NULL,
    reauthentication_token varchar(255) NULL DEFAULT ''::character varying,
    reauthentication_sent_at timestamptz NULL,
    is_sso_user boolean NOT NULL DEFAULT false,
    deleted_at timestamptz NULL,
    is_anonymous boolean NOT NULL DEFAULT false,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_phone_key UNIQUE (phone),
    CONSTRAINT users_email_change_confirm_status_check
        CHECK (email_change_confirm_status >= 0 AND email_change_confirm_status <= 2)
);
CREATE UNIQUE INDEX users_email_partial_key ON auth.users (email) WHERE is_sso_user = false;
CREATE INDEX users_instance_id_idx ON auth.users (instance_id);
CREATE INDEX users_is_anonymous_idx ON auth.users (is_anonymous);
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
-- What GoTrue's migrations grant on it: postgres may put triggers on it
-- (and read it on real projects; here only TRIGGER, the least the seed needs).
GRANT TRIGGER ON auth.users TO postgres;
RESET ROLE;
)sql";

bool touches_auth_users(const std::string& statement) {
  return statement.find("auth.users") != std::string::npos;
}

}  // namespace

SupabaseLike::SupabaseLike(PgClusterOptions options)
    : cluster_([&] {
        options.superuser = kSupabaseAdmin;
        options.database = "postgres";
        options.apply_schema = false;
        return std::move(options);
      }()) {
  cluster_.exec(kSupabaseSetupSql);
}

SupabaseClients::SupabaseClients(const SupabaseLike& sb)
    : gotrue_(sb.connect_as(kSupabaseAuthAdmin)), application_(sb.connect_as("authenticator")) {
  application_.exec("SET ROLE service_role");
}

void SupabaseClients::execute(Workload& workload, const WorkloadTransaction& tx) {
  if (!tx.commit || std::none_of(tx.statements.begin(), tx.statements.end(), touches_auth_users)) {
    return workload.execute(application_, tx);
  }
  // Consecutive statements with the same client, in order.
  std::vector<std::pair<bool, WorkloadTransaction>> parts;
  for (const auto& statement : tx.statements) {
    const bool auth = touches_auth_users(statement);
    if (parts.empty() || parts.back().first != auth) {
      WorkloadTransaction part = tx;
      part.statements.clear();
      if (!parts.empty()) part.kinds.clear();  // counted once, with the first part
      parts.emplace_back(auth, std::move(part));
    }
    parts.back().second.statements.push_back(statement);
  }
  for (const auto& [auth, part] : parts) workload.execute(auth ? gotrue_ : application_, part);
}

}  // namespace cdc::testing
