package io.tallyhouse.query.activity;

import io.tallyhouse.schemas.contract.Workspaces;
import java.util.Optional;

/**
 * The filters of a request that name something its account must have reported (CONTRACT.md sections
 * 3 and 4): a filter on a workspace or an api key the account never reported is 404, not an empty
 * answer, and never says whether another account did.
 */
public interface FilteredRequest {

  /** The workspace filter as the API shows it, when given. */
  Optional<String> workspaceId();

  /** The lowercase api key hash filter, when given. */
  Optional<String> apiKeyHash();

  /** The workspace filter as usage_daily stores it ({@link Workspaces#stored}), when given. */
  default Optional<String> storedWorkspaceId() {
    return workspaceId().map(Workspaces::stored);
  }
}
