// The sign-up triggers item: the seed's triggers on auth.users that turn
// sign-ups and email changes into public.customer rows. auth.users may belong
// to another role (on Supabase supabase_auth_admin): creating a trigger on it
// takes TRIGGER on the table and USAGE on schema auth, which the fix names
// when the role lacks them.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "checker.hpp"
#include "items.hpp"

namespace cdc::app::check {
namespace {

struct SignUpTrigger {
  const char* name;
  const char* function;
  int type_bits;  ///< pg_trigger.tgtype: ROW (1) | INSERT (4) or UPDATE (16), AFTER
};

constexpr SignUpTrigger kTriggers[] = {
    {"on_auth_user_created", "handle_new_user", 5},
    {"on_auth_user_updated", "handle_user_update", 17},
};

/// "GRANT ... TO role;" statements for what the role lacks to create a trigger on auth.users.
std::vector<std::string> missing_grants(Checker& c, const std::string& users_oid) {
  std::vector<std::string> grants;
  if (c.scalar("SELECT has_schema_privilege('auth', 'USAGE')") != "t") {
    grants.push_back(fmt::format("GRANT USAGE ON SCHEMA auth TO {};", c.role()));
  }
  if (c.scalar("SELECT has_table_privilege($1::oid, 'TRIGGER')", {users_oid}) != "t") {
    grants.push_back(fmt::format("GRANT TRIGGER ON auth.users TO {};", c.role()));
  }
  return grants;
}

}  // namespace

void sign_up_triggers(Checker& c) {
  const std::string users = c.table_oid("auth.users");
  if (users.empty()) {
    c.fail("sign-up triggers", "auth.users does not exist: sign-ups cannot create customers",
           "`customer-cdc migrate` (creates a minimal auth.users where none exists, and the triggers)");
    return;
  }
  std::vector<std::string> missing;
  std::vector<std::string> disabled;
  for (const SignUpTrigger& trigger : kTriggers) {
    const pg::Result r = c.query(
        "SELECT t.tgenabled FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
        "WHERE t.tgrelid = $1::oid AND t.tgname = $2 AND n.nspname = 'public' AND p.proname = $3 "
        "AND t.tgtype = $4::int",
        {users, trigger.name, trigger.function, std::to_string(trigger.type_bits)});
    if (r.rows() == 0) {
      missing.push_back(trigger.name);
    } else if (r.value(0, 0) == "D") {
      disabled.push_back(trigger.name);
    }
  }
  if (missing.empty() && disabled.empty()) {
    c.ok("sign-up triggers", "on_auth_user_created and on_auth_user_updated on auth.users keep public.customer in "
                             "step with sign-ups and email changes");
    return;
  }
  const std::string owner =
      c.scalar("SELECT pg_get_userbyid(relowner) FROM pg_catalog.pg_class WHERE oid = $1::oid", {users});
  if (!missing.empty()) {
    const std::vector<std::string> grants = missing_grants(c, users);
    const std::string detail =
        fmt::format("{} missing on auth.users: sign-ups and email changes there do not reach public.customer",
                    join(missing, ", "));
    if (grants.empty()) {
      c.fail("sign-up triggers", detail, "`customer-cdc migrate` (creates them)");
    } else {
      c.fail("sign-up triggers", detail,
             fmt::format("as {} (the owner of auth.users) or a superuser: `{}`, then `customer-cdc migrate` as {} "
                         "(a trigger on auth.users takes TRIGGER on it and USAGE on schema auth)",
                         ident(owner), join(grants, " "), c.role()));
    }
    return;
  }
  c.fail("sign-up triggers", fmt::format("{} on auth.users disabled: sign-ups and email changes there do not reach "
                                         "public.customer",
                                         join(disabled, ", ")),
         fmt::format("as {} (the owner of auth.users) or a superuser: `ALTER TABLE auth.users ENABLE TRIGGER {};`",
                     ident(owner), disabled.size() == 1 ? disabled.front() : "<name>"));
}

}  // namespace cdc::app::check
