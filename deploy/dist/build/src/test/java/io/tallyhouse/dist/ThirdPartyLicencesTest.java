package io.tallyhouse.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tallyhouse.dist.ThirdPartyLicences.Artifact;
import io.tallyhouse.dist.ThirdPartyLicences.Licence;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ThirdPartyLicencesTest {

  @TempDir Path repository;

  @Test
  void theListOfMavenIsReadWithAndWithoutClassifierAndModuleNote() {
    assertEquals(
        List.of(
            new Artifact("ch.qos.logback", "logback-core", "1.5.18"),
            new Artifact("io.netty", "netty-transport-native-epoll", "4.2.7.Final")),
        ThirdPartyLicences.parseList(
            List.of(
                "",
                "The following files have been resolved:",
                "   ch.qos.logback:logback-core:jar:1.5.18:compile -- module ch.qos.logback.core",
                "   io.netty:netty-transport-native-epoll:jar:linux-x86_64:4.2.7.Final:runtime",
                "   ch.qos.logback:logback-core:jar:1.5.18:compile")));
  }

  @Test
  void aPomWithoutLicencesTakesItsNearestParentsLicences() throws IOException {
    pom(
        "org.example",
        "child",
        "1.0",
        "<parent><groupId>org.example</groupId><artifactId>parent</artifactId>"
            + "<version>2</version></parent>");
    pom(
        "org.example",
        "parent",
        "2",
        "<licenses><license><name>Apache License, Version 2.0</name>"
            + "<url>https://www.apache.org/licenses/LICENSE-2.0</url></license>"
            + "<license><name>MIT</name></license></licenses>");
    assertEquals(
        List.of(
            new Licence(
                "Apache License, Version 2.0", "https://www.apache.org/licenses/LICENSE-2.0"),
            new Licence("MIT", "")),
        ThirdPartyLicences.licences(new Artifact("org.example", "child", "1.0"), repository));
  }

  @Test
  void anArtifactWithoutADeclaredLicenceIsListedAsSuch() throws IOException {
    pom("org.example", "bare", "1.0", "");
    String text =
        ThirdPartyLicences.render(List.of(new Artifact("org.example", "bare", "1.0")), repository);
    assertTrue(text.contains("org.example:bare:1.0  (no licence declared in its POM)\n"), text);
  }

  private void pom(String group, String artifact, String version, String body) throws IOException {
    Path file = new Artifact(group, artifact, version).pom(repository);
    Files.createDirectories(file.getParent());
    Files.writeString(
        file,
        "<?xml version=\"1.0\"?><project xmlns=\"http://maven.apache.org/POM/4.0.0\">"
            + "<modelVersion>4.0.0</modelVersion>"
            + body
            + "</project>");
  }
}
