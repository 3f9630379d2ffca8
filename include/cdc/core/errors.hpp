#pragma once
#include <stdexcept>
#include <string>

namespace cdc {

/// What the daemon does about an error; every error type of ours names its
/// category, so the daemon loop classifies by category, never by type.
enum class ErrorCategory {
  /// Reconnecting (with backoff) may fix it: a broken connection, a broker
  /// outage, a slot or sink held by another process.
  Retryable,
  /// No retry will fix it (configuration, missing slot or schema, lost WAL):
  /// stop with exit code 1.
  Fatal,
  /// A message of the stream cannot be taken (it does not decode, breaks the
  /// transaction sequence, or a sink cannot map it): stop with exit code 1,
  /// not acknowledged, so a restart stops at the same message.
  Poison,
};

/// Base of the errors the daemon classifies.
class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, const std::string& message) : std::runtime_error(message), category_(category) {}
  ErrorCategory category() const { return category_; }
  /// The line the daemon logs (what() plus the context an operator needs).
  virtual std::string log_message() const { return what(); }

 protected:
  void set_category(ErrorCategory category) { category_ = category; }

 private:
  ErrorCategory category_;
};

/// An error type of a fixed category.
template <ErrorCategory kCategory>
class CategorizedError : public Error {
 public:
  explicit CategorizedError(const std::string& message) : Error(kCategory, message) {}
};

/// A problem that retrying will not fix (missing slot, lost WAL, schema not
/// migrated): the daemon stops with exit code 1.
class FatalError : public CategorizedError<ErrorCategory::Fatal> {
 public:
  using CategorizedError::CategorizedError;
};

/// A message of the stream that cannot be taken: the daemon stops with exit
/// code 1 without acknowledging it.
class PoisonError : public CategorizedError<ErrorCategory::Poison> {
 public:
  using CategorizedError::CategorizedError;
};

}  // namespace cdc
