package io.tallyhouse.schemas.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class WorkspacesTest {

  @Test
  void theDefaultWorkspaceIsStoredAsTheEmptyStringAndShownByName() {
    assertEquals("", Workspaces.stored("default"));
    assertEquals("default", Workspaces.shown(""));
  }

  @Test
  void otherWorkspacesAreStoredAsTheyAre() {
    String id = "3f2a9c1e-0b7d-4e55-9a61-2c4f8d0e7b13";
    assertEquals(id, Workspaces.stored(id));
    assertEquals(id, Workspaces.shown(id));
    assertEquals(id, Workspaces.shown(Workspaces.stored(id)));
  }
}
