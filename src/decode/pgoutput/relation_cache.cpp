#include "relation_cache.hpp"

#include "type_names.hpp"

namespace cdc::decode::pgoutput {

const Relation* RelationCache::find(std::uint32_t relation_oid) const {
  const auto it = relations_.find(relation_oid);
  return it == relations_.end() ? nullptr : &it->second;
}

std::string RelationCache::type_name(std::uint32_t type_oid, std::int32_t typmod) const {
  if (auto builtin = builtin_type_name(type_oid, typmod)) return *std::move(builtin);
  const auto it = types_.find(type_oid);
  if (it == types_.end()) return {};
  // format_type() qualifies a type outside the search path ("$user", public)
  // and prints an array type "_name" as "name[]".
  const UserType& type = it->second;
  std::string name = type.schema == "public" || type.schema == "pg_catalog" ? "" : type.schema + ".";
  const bool array = type.name.size() > 1 && type.name.front() == '_';
  name += array ? type.name.substr(1) + "[]" : type.name;
  return name;
}

}  // namespace cdc::decode::pgoutput
