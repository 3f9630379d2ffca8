#pragma once
// A Supabase-like database on a throwaway cluster: `postgres` is NOT a
// superuser, as on Supabase.
//
//   SupabaseLike sb;                                   // cluster + roles + auth schema + GoTrue's auth.users
//   run migrate with sb.dsn(kSupabasePostgres) ...     // the role that applies migrations and runs the daemon
//   SupabaseClients clients(sb);                       // GoTrue (supabase_auth_admin) and the application
//   clients.execute(workload, workload.next());        // auth.users statements as GoTrue, the rest as the app
//
// The roles (as Supabase creates them, reduced to what customer-cdc touches):
//   supabase_admin       the bootstrap superuser (sb.cluster() connects as it)
//   postgres             LOGIN REPLICATION BYPASSRLS CREATEDB CREATEROLE, no superuser; CREATE on the
//                        database and on schema public; USAGE on schema auth, TRIGGER on auth.users,
//                        no CREATE on schema auth
//   supabase_auth_admin  owns schema auth and auth.users (GoTrue's 35 columns, row level security on)
//   anon, authenticated, service_role (BYPASSRLS)  the API roles; the default privileges of postgres
//                        in public grant them its tables, as on Supabase
//   authenticator        LOGIN NOINHERIT, member of the API roles (PostgREST's SET ROLE)
// The database is `postgres`, owned by supabase_admin.

#include <string>

#include "support/pg_cluster.hpp"
#include "support/workload.hpp"

namespace cdc::testing {

inline constexpr const char* kSupabaseAdmin = "supabase_admin";
inline constexpr const char* kSupabasePostgres = "postgres";
inline constexpr const char* kSupabaseAuthAdmin = "supabase_auth_admin";

class SupabaseLike {
 public:
  /// `options.superuser`, `database` and `apply_schema` are set here (the
  /// schema is for the test to migrate as postgres); the rest is kept.
  explicit SupabaseLike(PgClusterOptions options = {});

  /// The cluster; its connections are supabase_admin's.
  PgCluster& cluster() { return cluster_; }
  std::string dsn(const std::string& role) const { return cluster_.conninfo_as(role); }
  PgConn connect_as(const std::string& role) const { return PgConn(dsn(role)); }

 private:
  PgCluster cluster_;
};

/// What writes to the database on Supabase: GoTrue, as supabase_auth_admin,
/// inserts and updates auth.users (the seed's triggers turn that into
/// public.customer changes); the application (PostgREST with the service key:
/// authenticator, SET ROLE service_role) changes customers and plans.
class SupabaseClients {
 public:
  explicit SupabaseClients(const SupabaseLike& sb);

  /// Runs `tx` as the clients would: consecutive statements on auth.users as
  /// GoTrue, the others as the application, each run in a transaction of its
  /// own (a sign-up followed by a plan choice becomes two transactions, as
  /// with GoTrue and an application). Transactions that roll back, or touch no
  /// auth.users, run as the application in one piece.
  void execute(Workload& workload, const WorkloadTransaction& tx);

  PgConn& gotrue() { return gotrue_; }
  PgConn& application() { return application_; }

 private:
  PgConn gotrue_;
  PgConn application_;
};

}  // namespace cdc::testing
