#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cdc::decode::pgoutput {

struct RelationColumn {
  std::string name;
  std::uint32_t type_oid = 0;
  std::int32_t typmod = -1;
  std::string type_name;  ///< as Column::type holds it
  bool key = false;       ///< part of the replica identity (every column under FULL)
};

/// One Relation message: what the following row changes of that OID mean.
struct Relation {
  std::string schema;
  std::string table;
  char replica_identity = 'd';  ///< d(efault), n(othing), f(ull), i(ndex)
  std::vector<RelationColumn> columns;
};

/// A user-defined type as a Type message describes it.
struct UserType {
  std::string schema;
  std::string name;
};

/// The relations and types of one session. pgoutput sends a Relation message
/// before the first change of a table in a session and again after the
/// table's definition changed (ALTER TABLE): the new one replaces the old.
class RelationCache {
 public:
  void put(std::uint32_t relation_oid, Relation relation) { relations_[relation_oid] = std::move(relation); }
  /// nullptr when no Relation message described the OID in this session.
  const Relation* find(std::uint32_t relation_oid) const;

  void put_type(std::uint32_t type_oid, UserType type) { types_[type_oid] = std::move(type); }
  /// The type name for a column: built in, or from a Type message; empty when neither knows it.
  std::string type_name(std::uint32_t type_oid, std::int32_t typmod) const;

  void clear() {
    relations_.clear();
    types_.clear();
  }

 private:
  std::unordered_map<std::uint32_t, Relation> relations_;
  std::unordered_map<std::uint32_t, UserType> types_;
};

}  // namespace cdc::decode::pgoutput
