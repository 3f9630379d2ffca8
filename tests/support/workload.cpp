#include "support/workload.hpp"

#include <algorithm>
#include <stdexcept>

namespace cdc::testing {
namespace {

/// Exact decimal text of k/4.
std::string quarters(int k) {
  const bool negative = k < 0;
  const int a = negative ? -k : k;
  static const char* frac[] = {"", ".25", ".5", ".75"};
  return (negative ? "-" : "") + std::to_string(a / 4) + frac[a % 4];
}

/// remaining_resources with `key` lowered by `amount` (a missing key starts at 1000).
std::string minus(const std::string& base, const std::string& key, const std::string& amount) {
  return "jsonb_set(" + base + ", '{" + key + "}', to_jsonb(coalesce((remaining_resources ->> '" + key +
         "')::numeric, 1000) - (" + amount + ")))";
}

/// `key` is a number or missing, in an object (or NULL) remaining_resources.
std::string editable(const std::string& key) {
  return "(remaining_resources IS NULL OR jsonb_typeof(remaining_resources) = 'object') AND "
         "coalesce(jsonb_typeof(remaining_resources -> '" + key + "'), 'number') = 'number'";
}

constexpr const char* kObject = " AND jsonb_typeof(remaining_resources) = 'object'";
constexpr const char* kHash = "(hashtext(uuid::text) & 2147483647)";

}  // namespace

std::string WorkloadTransaction::sql() const {
  std::string out = "BEGIN;\n";
  for (const auto& s : statements) out += s + ";\n";
  out += commit ? "COMMIT;" : "ROLLBACK;";
  return out;
}

Workload::Workload(WorkloadKnobs knobs) : knobs_(std::move(knobs)), rng_(knobs_.seed) {
  for (const auto& [kind, weight] : knobs_.mix) total_weight_ += weight;
  if (total_weight_ <= 0) throw std::invalid_argument("workload: the mix has no weight");
}

void Workload::load(PgConn& conn) {
  customers_.clear();
  for (const Row& r : conn.query("SELECT c.uuid::text, (u.id IS NOT NULL)::text FROM public.customer c "
                                 "LEFT JOIN auth.users u ON u.id = c.uuid ORDER BY c.uuid")) {
    customers_.push_back(Customer{*r[0], *r[1] == "true"});
  }
  plans_.clear();
  for (const Row& r : conn.query("SELECT id::text FROM public.plans ORDER BY id")) {
    plans_.push_back(std::stoll(*r[0]));
    next_plan_id_ = std::max(next_plan_id_, plans_.back() + 1);
  }
}

// ---------------------------------------------------------------------------
// The model

void Workload::add_customer(std::string uuid, bool has_user) {
  undo_.customers_added.push_back(uuid);
  customers_.push_back(Customer{std::move(uuid), has_user});
}

void Workload::remove_customer(std::size_t index) {
  undo_.customers_removed.push_back(customers_[index]);
  customers_[index] = customers_.back();
  customers_.pop_back();
}

std::int64_t Workload::add_plan() {
  const std::int64_t id = next_plan_id_++;
  plans_.push_back(id);
  undo_.plans_added.push_back(id);
  return id;
}

void Workload::remove_plan(std::size_t index) {
  undo_.plans_removed.push_back(plans_[index]);
  plans_.erase(plans_.begin() + static_cast<std::ptrdiff_t>(index));
}

void Workload::rollback_model() {
  for (const auto& uuid : undo_.customers_added) {
    std::erase_if(customers_, [&](const Customer& c) { return c.uuid == uuid; });
  }
  for (auto& c : undo_.customers_removed) {
    if (std::find(undo_.customers_added.begin(), undo_.customers_added.end(), c.uuid) == undo_.customers_added.end()) {
      customers_.push_back(std::move(c));
    }
  }
  for (const auto id : undo_.plans_added) std::erase(plans_, id);
  for (const auto id : undo_.plans_removed) {
    if (std::find(undo_.plans_added.begin(), undo_.plans_added.end(), id) == undo_.plans_added.end()) {
      plans_.push_back(id);
    }
  }
  undo_ = Undo{};
}

// ---------------------------------------------------------------------------
// Transactions

Statement Workload::pick_kind() {
  int roll = pick(0, total_weight_ - 1);
  for (const auto& [kind, weight] : knobs_.mix) {
    if (roll < weight) return kind;
    roll -= weight;
  }
  return knobs_.mix.back().first;
}

WorkloadTransaction Workload::next() {
  undo_ = Undo{};
  WorkloadTransaction tx;
  if (static_cast<int>(customers_.size()) < knobs_.min_customers) {
    tx.kinds.push_back(Statement::SignUp);
    sign_up(tx.statements);
    return tx;
  }
  const auto [lo, hi] = knobs_.long_chance > 0 && chance(knobs_.long_chance) ? knobs_.long_statements
                                                                              : knobs_.statements;
  for (int n = pick(lo, hi); n > 0; --n) {
    const Statement kind = pick_kind();
    tx.kinds.push_back(kind);
    if (kind == Statement::RolledBack) tx.commit = false;
    add(kind, tx.statements);
  }
  return tx;
}

WorkloadTransaction Workload::only(Statement kind) {
  undo_ = Undo{};
  WorkloadTransaction tx;
  tx.kinds.push_back(kind);
  tx.commit = kind != Statement::RolledBack;
  add(kind, tx.statements);
  return tx;
}

void Workload::execute(PgConn& conn, const WorkloadTransaction& tx) {
  conn.exec(tx.sql());
  if (!tx.commit) {
    rollback_model();
    ++stats_.rolled_back;
    return;
  }
  undo_ = Undo{};
  ++stats_.transactions;
  stats_.statements += static_cast<int>(tx.statements.size());
  for (const Statement kind : tx.kinds) ++stats_.by_kind[kind];
  if (tx.big) {
    ++stats_.big_transactions;
    stats_.big_rows += tx.rows;
  }
  if (tx.reload_after) load(conn);
}

void Workload::run(PgConn& conn, int transactions) {
  for (int i = 0; i < transactions; ++i) execute(conn, next());
}

// ---------------------------------------------------------------------------
// Building blocks

std::string Workload::new_uuid() {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    out += hex[pick(0, 15)];
  }
  return out;
}

std::string Workload::new_email() {
  return "w" + std::to_string(knobs_.seed) + "-" + std::to_string(++counter_) + "@" + knobs_.email_domain;
}

std::size_t Workload::some_customer_index() {
  return static_cast<std::size_t>(pick(0, static_cast<int>(customers_.size()) - 1));
}

std::string Workload::some_customer() {
  if (customers_.empty()) return "00000000-0000-0000-0000-000000000000";
  return customers_[some_customer_index()].uuid;
}

std::string Workload::customers_array(int n) {
  std::string out = "'{";
  for (int i = 0; i < n; ++i) out += (i > 0 ? "," : "") + some_customer();
  return out + "}'::uuid[]";
}

std::string Workload::where_customers(int n) { return "uuid = ANY(" + customers_array(n) + ")"; }

std::string Workload::some_plan() {
  if (plans_.empty()) return "NULL";
  return std::to_string(plans_[static_cast<std::size_t>(pick(0, static_cast<int>(plans_.size()) - 1))]);
}

std::string Workload::plan_or_null() { return chance(0.15) ? "NULL" : some_plan(); }

std::string Workload::plan_array() {
  std::string out = "ARRAY[0";
  for (const auto id : plans_) out += ", " + std::to_string(id);
  return out + "]::bigint[]";
}

std::string Workload::price() {
  if (chance(0.05)) return "0";
  return std::to_string(pick(1, 99)) + "." + std::to_string(pick(10, 99));
}

std::string Workload::plan_change(const std::string& where) {
  if (knobs_.every_update_changes && plans_.size() >= 2) {
    const std::string a = some_plan();
    std::string b = some_plan();
    while (b == a) b = some_plan();
    return "UPDATE public.customer SET plan_id = CASE WHEN plan_id IS DISTINCT FROM " + a + " THEN " + a +
           " ELSE " + b + " END WHERE " + where;
  }
  return "UPDATE public.customer SET plan_id = " + plan_or_null() + " WHERE " + where;
}

std::string Workload::resource_update(const std::string& where) {
  auto one = [&]() -> std::pair<std::string, std::string> {
    const int which = pick(0, 99);
    if (which < 50) {
      const int kind = pick(0, 99);
      int amount = pick(1, 250);
      if (kind < 15) amount = -pick(1, 100);  // an increase: not consumption
      else if (kind < 20 && !knobs_.every_update_changes) amount = 0;
      else if (kind < 25) amount = 1000;
      return {"api_calls", std::to_string(amount)};
    }
    if (which < 85) {
      int k = pick(-4, 12);
      if (k == 0 && knobs_.every_update_changes) k = 1;
      return {"storage_gb", quarters(k)};
    }
    return {"seats", chance(0.8) ? "1" : "-1"};
  };
  const std::string set = "UPDATE public.customer SET remaining_resources = ";
  auto [k1, a1] = one();
  if (chance(0.2)) {  // two keys in one statement
    auto [k2, a2] = one();
    if (k1 != k2) {
      return set + minus(minus("coalesce(remaining_resources, '{}')", k1, a1), k2, a2) + " WHERE " + where +
             " AND " + editable(k1) + " AND " + editable(k2);
    }
  }
  return set + minus("coalesce(remaining_resources, '{}')", k1, a1) + " WHERE " + where + " AND " + editable(k1);
}

std::string Workload::key_edit(const std::string& where) {
  const std::string set = "UPDATE public.customer SET remaining_resources = ";
  const std::string in = " WHERE " + where;
  switch (pick(0, 8)) {
    case 0:  // key added (or overwritten: then a decrease is consumption)
      return set + "remaining_resources || '{\"seats\": " + std::to_string(pick(1, 9)) + "}'" + in + kObject;
    case 1:  // key dropped
      return set + "remaining_resources - 'storage_gb'" + in + kObject;
    case 2:  // number to string
      return set + "jsonb_set(remaining_resources, '{api_calls}', '\"unlimited\"')" + in + kObject;
    case 3:  // string (or anything) back to a number
      return set + "jsonb_set(remaining_resources, '{api_calls}', '" + std::to_string(pick(0, 500)) + "')" + in +
             kObject;
    case 4:
      return set + "NULL" + in;
    case 5:
      return set + "'[1, 2]'" + in;
    case 6:  // back to the plan's allowance without a plan change: not a reset
      return set + "plan_resources" + in;
    case 7:  // keys that need quoting in SQL arrays and JSON: their decreases are consumption too
      return set + "remaining_resources || '{\"odd key, \\\"q\\\" {x} \\\\ end\": " + std::to_string(pick(0, 20)) +
             ", \"ключ\": " + std::to_string(pick(0, 20)) + "}'" + in + kObject;
    default:  // an object where there was none
      return set + "coalesce(remaining_resources, '{}') || '{\"api_calls\": 40, \"storage_gb\": 2.5}'" + in +
             " AND (remaining_resources IS NULL OR jsonb_typeof(remaining_resources) <> 'object')";
  }
}

/// A random sample of customers; used as `uuid = ANY(ARRAY(sample))`, which the
/// planner runs as index lookups (`uuid IN (sample)` may become a nested loop).
std::string Workload::sample(int rows) {
  return "SELECT uuid FROM public.customer ORDER BY md5(uuid::text || '" + std::to_string(knobs_.seed) + "-" +
         std::to_string(++counter_) + "') LIMIT " + std::to_string(rows);
}

std::string Workload::bulk_insert(int rows, const std::string& salt, const std::string& remaining) {
  return "INSERT INTO public.customer (uuid, email, plan_id, plan_updated_at, plan_resources, remaining_resources) "
         "SELECT md5('" + salt + "-' || g)::uuid, 'bulk-" + salt + "-' || g || '@" + knobs_.email_domain +
         "', p.id, now(), p.resources, " + remaining + " FROM generate_series(1, " + std::to_string(rows) + ") g "
         "LEFT JOIN public.plans p ON p.id = (" + plan_array() + ")[1 + g % " + std::to_string(plans_.size() + 1) +
         "]";
}

void Workload::sign_up(std::vector<std::string>& out) {
  std::string sql = "INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES ";
  std::vector<std::string> added;
  for (int n = pick(knobs_.rows_per_insert.first, knobs_.rows_per_insert.second); n > 0; --n) {
    added.push_back(new_uuid());
    sql += std::string(added.size() > 1 ? ", " : "") + "('" + added.back() + "', '" + new_email() +
           "', '{\"signup\": " + std::to_string(counter_) + "}')";
  }
  out.push_back(sql);
  for (auto& uuid : added) add_customer(uuid, true);
  if (chance(0.5)) out.push_back(plan_change("uuid = '" + added.front() + "'"));  // then picks a plan
}

void Workload::insert_on_plan(std::vector<std::string>& out) {
  std::string values;
  for (int n = pick(knobs_.rows_per_insert.first, knobs_.rows_per_insert.second); n > 0; --n) {
    const std::string uuid = new_uuid();
    values += std::string(values.empty() ? "" : ", ") + "('" + uuid + "', '" + new_email() + "')";
    add_customer(uuid, false);
  }
  out.push_back(
      "INSERT INTO public.customer (uuid, email, plan_id, plan_updated_at, plan_resources, remaining_resources) "
      "SELECT v.uuid::uuid, v.email, p.id, now(), p.resources, p.resources FROM (VALUES " + values +
      ") v (uuid, email) LEFT JOIN public.plans p ON p.id = " + plan_or_null());
}

void Workload::remove_customers(int n, std::vector<std::string>& out) {
  std::string list;
  for (int i = 0; i < n && !customers_.empty(); ++i) {
    const std::size_t index = some_customer_index();
    list += (list.empty() ? "" : ",") + customers_[index].uuid;
    remove_customer(index);
  }
  if (!list.empty()) out.push_back("DELETE FROM public.customer WHERE uuid = ANY('{" + list + "}'::uuid[])");
}

void Workload::new_plan(std::vector<std::string>& out) {
  static const char* resources[] = {"'{\"api_calls\": 100, \"seats\": 5}'", "'{\"storage_gb\": 2.5, \"seats\": 1}'",
                                    "'{\"api_calls\": 300, \"storage_gb\": 20, \"seats\": 10}'", "NULL"};
  const std::int64_t id = add_plan();
  out.push_back("INSERT INTO public.plans (id, name, price, benefits, resources) VALUES (" + std::to_string(id) +
                ", 'Plan " + std::to_string(id) + "', " + price() + ", '[]', " + resources[pick(0, 3)] + ")");
  if (!customers_.empty()) {  // and moves some customers to it
    out.push_back("UPDATE public.customer SET plan_id = " + std::to_string(id) + " WHERE " +
                  where_customers(pick(1, 20)));
  }
}

void Workload::delete_plan(std::vector<std::string>& out) {
  // Only plans the workload created: the seed's plans stay for the tests' own statements.
  auto created = std::find_if(plans_.begin(), plans_.end(), [](std::int64_t id) { return id >= 1000; });
  if (created == plans_.end()) {
    new_plan(out);
    created = std::find_if(plans_.begin(), plans_.end(), [](std::int64_t id) { return id >= 1000; });
  } else {
    out.push_back("UPDATE public.customer SET plan_id = " + std::to_string(*created) + " WHERE " +
                  where_customers(3));
  }
  out.push_back("DELETE FROM public.plans WHERE id = " + std::to_string(*created));
  remove_plan(static_cast<std::size_t>(created - plans_.begin()));
}

void Workload::add(Statement kind, std::vector<std::string>& out) {
  const auto [lo, hi] = knobs_.customers_per_statement;
  if (customers_.empty() && kind != Statement::SignUp && kind != Statement::InsertOnPlan &&
      kind != Statement::InsertWithResources && kind != Statement::PriceChange && kind != Statement::NewPlan &&
      kind != Statement::Unrelated) {
    kind = Statement::SignUp;
  }
  switch (kind) {
    case Statement::SignUp:
      return sign_up(out);
    case Statement::InsertOnPlan:
      return insert_on_plan(out);
    case Statement::InsertWithResources: {
      const std::string uuid = new_uuid();
      out.push_back("INSERT INTO public.customer (uuid, email, remaining_resources) VALUES ('" + uuid + "', '" +
                    new_email() + "', '{\"api_calls\": 50, \"storage_gb\": 1.5}')");
      return add_customer(uuid, false);
    }
    case Statement::PlanChange:
      return out.push_back(plan_change(where_customers(pick(lo, hi))));
    case Statement::PlanReset: {  // away and back: two changes, resources reset
      const std::string who = "uuid = '" + some_customer() + "'";
      out.push_back(plan_change(who));
      return out.push_back(plan_change(who));
    }
    case Statement::ResourceUpdate:
      return out.push_back(resource_update(where_customers(pick(lo, hi))));
    case Statement::KeyEdit:
      return out.push_back(key_edit(where_customers(pick(lo, hi))));
    case Statement::SameValueUpdate: {
      const std::string who = where_customers(pick(lo, hi));
      switch (pick(0, 2)) {
        case 0:  // jsonb equal to the old value
          return out.push_back("UPDATE public.customer SET remaining_resources = remaining_resources WHERE " + who);
        case 1:  // equal value, different text (api_calls * 1.0)
          return out.push_back(
              "UPDATE public.customer SET remaining_resources = jsonb_set(remaining_resources, '{api_calls}', "
              "to_jsonb((remaining_resources ->> 'api_calls')::numeric * 1.0)) WHERE " + who +
              " AND jsonb_typeof(remaining_resources -> 'api_calls') = 'number'");
        default:  // same plan_id written again: no plan change, no reset
          return out.push_back("UPDATE public.customer SET plan_id = plan_id WHERE " + who);
      }
    }
    case Statement::EmailUpdate: {
      const Customer& c = customers_[some_customer_index()];
      if (c.has_user) {
        return out.push_back("UPDATE auth.users SET email = '" + new_email() + "' WHERE id = '" + c.uuid + "'");
      }
      return out.push_back("UPDATE public.customer SET email = '" + new_email() + "' WHERE uuid = '" + c.uuid + "'");
    }
    case Statement::MetadataUpdate:
      if (chance(0.25)) {
        // (unique: one value per row)
        return out.push_back("UPDATE public.customer SET stripe_customer_id = 'cus_" + std::to_string(++counter_) +
                             "_' || uuid::text WHERE " + where_customers(pick(lo, hi)));
      }
      return out.push_back("UPDATE public.customer SET metadata = jsonb_build_object('n', " +
                           std::to_string(++counter_) + "), updated_at = now() WHERE " +
                           where_customers(pick(lo, hi)));
    case Statement::AuthProfileUpdate: {
      const Customer& c = customers_[some_customer_index()];
      return out.push_back("UPDATE auth.users SET raw_user_meta_data = '{\"v\": " + std::to_string(pick(0, 1000)) +
                           "}' WHERE id = '" + c.uuid + "'");
    }
    case Statement::SameRowChanges: {
      const std::string who = customers_array(pick(1, 2));
      for (int n = pick(2, 5); n > 0; --n) {
        const std::string where = "uuid = ANY(" + (chance(0.65) ? who : customers_array(1)) + ")";
        const int what = pick(0, 99);
        if (what < 60) {
          out.push_back(resource_update(where));
        } else if (what < 85) {
          out.push_back(plan_change(where));
        } else {
          out.push_back("UPDATE public.customer SET metadata = jsonb_build_object('n', " + std::to_string(++counter_) +
                        ") WHERE " + where);
        }
      }
      return;
    }
    case Statement::Delete:
      return remove_customers(pick(knobs_.deletes_per_statement.first, knobs_.deletes_per_statement.second), out);
    case Statement::UpdateThenDelete: {
      const std::size_t index = some_customer_index();
      const std::string who = "uuid = '" + customers_[index].uuid + "'";
      out.push_back(chance(0.5) ? plan_change(who) : resource_update(who));
      out.push_back("DELETE FROM public.customer WHERE " + who);
      return remove_customer(index);
    }
    case Statement::PriceChange:
      if (plans_.empty()) return;
      if (chance(0.5)) {
        return out.push_back("UPDATE public.plans SET price = " + price() + ", updated_at = now() WHERE id = " +
                             some_plan());
      }
      return out.push_back("UPDATE public.plans SET price = greatest(0, price + " + std::to_string(pick(-300, 500)) +
                           " / 100.0), updated_at = now() WHERE id = " + some_plan());
    case Statement::NewPlan:
      return new_plan(out);
    case Statement::PlanDelete:
      return delete_plan(out);
    case Statement::RangeUpdate: {  // many rows of one plan in one statement
      if (plans_.empty()) return out.push_back(resource_update(where_customers(pick(lo, hi))));
      const std::string key = chance(0.6) ? "api_calls" : "storage_gb";
      return out.push_back("UPDATE public.customer SET remaining_resources = " +
                           minus("remaining_resources", key, std::to_string(pick(1, 20)) + " + " + kHash + " % 7") +
                           " WHERE plan_id = " + some_plan() + " AND jsonb_typeof(remaining_resources -> '" + key +
                           "') = 'number' AND uuid::text < '" + std::string(1, "123"[pick(0, 2)]) + "'");
    }
    case Statement::Unrelated:
      if (chance(0.7)) {
        return out.push_back("INSERT INTO public.unrelated_things (note) VALUES ('w" + std::to_string(++counter_) +
                             "')");
      }
      return out.push_back("UPDATE public.unrelated_things SET note = 'u" + std::to_string(++counter_) +
                           "' WHERE id % 7 = " + std::to_string(pick(0, 6)));
    case Statement::RolledBack:  // the transaction rolls back: nothing of it may appear anywhere
      out.push_back(plan_change(where_customers(2)));
      out.push_back(resource_update(where_customers(2)));
      remove_customers(1, out);
      return insert_on_plan(out);
    case Statement::Savepoint:
      out.push_back(resource_update(where_customers(1)));
      out.push_back("SAVEPOINT s");
      out.push_back(plan_change(where_customers(1)));
      out.push_back(resource_update(where_customers(1)));
      out.push_back("ROLLBACK TO SAVEPOINT s");
      return out.push_back(plan_change(where_customers(1)));
  }
}

WorkloadTransaction Workload::big(Big kind, int rows) {
  undo_ = Undo{};
  WorkloadTransaction tx;
  tx.big = true;
  tx.rows = rows;
  const std::string salt = std::to_string(knobs_.seed) + "-" + std::to_string(++counter_);
  const std::string in_sample = "uuid = ANY(ARRAY(" + sample(rows) + "))";
  switch (kind) {
    case Big::Fill:
      tx.statements.push_back(bulk_insert(rows, salt,
                                          "'{\"api_calls\": 10, \"storage_gb\": 1, \"seats\": 3}'::jsonb || "
                                          "coalesce(p.resources, '{}')"));
      tx.reload_after = true;
      break;
    case Big::ConsumeAllKeys: {
      const std::string all = "jsonb_typeof(remaining_resources -> 'api_calls') = 'number' AND "
                              "jsonb_typeof(remaining_resources -> 'storage_gb') = 'number' AND "
                              "jsonb_typeof(remaining_resources -> 'seats') = 'number'";
      tx.statements.push_back(
          "UPDATE public.customer SET remaining_resources = " +
          minus(minus(minus("remaining_resources", "api_calls", std::string(kHash) + " % 40 - 5"), "storage_gb",
                      std::string("(") + kHash + " % 9) * 0.25"),
                "seats", std::string(kHash) + " % 3 - 1") +
          " WHERE " + all + " AND uuid = ANY(ARRAY(SELECT uuid FROM public.customer WHERE " + all + " ORDER BY uuid LIMIT " +
          std::to_string(rows) + "))");
      break;
    }
    case Big::Consume:  // two changes per row
      tx.statements.push_back("UPDATE public.customer SET remaining_resources = " +
                              minus("remaining_resources", "api_calls", std::string(kHash) + " % 40 - 5") +
                              " WHERE jsonb_typeof(remaining_resources -> 'api_calls') = 'number' AND uuid = ANY(ARRAY(" +
                              sample(rows / 2) + "))");
      tx.statements.push_back("UPDATE public.customer SET remaining_resources = " +
                              minus("remaining_resources", "storage_gb", std::string("(") + kHash + " % 9) * 0.25") +
                              " WHERE jsonb_typeof(remaining_resources -> 'storage_gb') = 'number' AND uuid = ANY(ARRAY(" +
                              sample(rows / 2) + "))");
      break;
    case Big::Decrement:
      tx.statements.push_back("UPDATE public.customer SET remaining_resources = " +
                              minus("coalesce(remaining_resources, '{}')", "api_calls", "1") + " WHERE " + in_sample +
                              " AND " + editable("api_calls"));
      break;
    case Big::PlanMoves:
      tx.statements.push_back("UPDATE public.customer SET plan_id = " + plan_or_null() + " WHERE " + in_sample);
      tx.statements.push_back("UPDATE public.plans SET price = price + 1, updated_at = now()");
      break;
    case Big::Churn:
      tx.statements.push_back("DELETE FROM public.customer WHERE uuid = ANY(ARRAY(" + sample(rows / 2) + "))");
      tx.statements.push_back(bulk_insert(rows / 2, salt, "p.resources"));
      tx.reload_after = true;
      break;
    case Big::SignUps: {
      const std::string prefix = "bulk-" + salt + "-";
      tx.statements.push_back("INSERT INTO auth.users (email, raw_user_meta_data) SELECT '" + prefix + "' || g || '@" +
                              knobs_.email_domain + "', jsonb_build_object('g', g) FROM generate_series(1, " +
                              std::to_string(rows) + ") g");
      if (!plans_.empty()) {  // three in four then pick a plan
        tx.statements.push_back("UPDATE public.customer SET plan_id = (" + plan_array() + ")[2 + (hashtext(email) & " +
                                "2147483647) % " + std::to_string(plans_.size()) + "] WHERE email LIKE '" + prefix +
                                "%' AND (hashtext(email) & 3) <> 3");
      }
      tx.reload_after = true;
      break;
    }
    case Big::Deletes:
      tx.statements.push_back("DELETE FROM public.customer WHERE " + in_sample);
      tx.reload_after = true;
      break;
  }
  return tx;
}

WorkloadKnobs audited_small_transactions(std::uint32_t seed) {
  WorkloadKnobs knobs;
  knobs.seed = seed;
  knobs.mix = {{Statement::ResourceUpdate, 40}, {Statement::PlanChange, 20}, {Statement::InsertOnPlan, 18},
               {Statement::Delete, 12}, {Statement::UpdateThenDelete, 10}};
  knobs.customers_per_statement = {1, 5};
  knobs.rows_per_insert = {1, 3};
  knobs.deletes_per_statement = {1, 2};
  knobs.every_update_changes = true;
  return knobs;
}

}  // namespace cdc::testing
