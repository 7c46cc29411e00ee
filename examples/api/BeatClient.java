// A Java 17 client of a BEAT node's API: submit, follow the commit stream, read back.
// Only the JDK: java.net.http.HttpClient. What a Spring Boot service does with RestClient or
// WebClient is the same three calls (see docs/guide.md, "Client API").
//
//   javac BeatClient.java && java BeatClient http://127.0.0.1:8080 <token> 'set java hello'
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class BeatClient {
    public static void main(String[] args) throws Exception {
        String base = args[0], token = args[1], tx = args[2];
        HttpClient http = HttpClient.newHttpClient();
        // 1. Submit: one transaction; the answer carries its id.
        String body = "{\"transactions\": [\"" + tx.replace("\\", "\\\\").replace("\"", "\\\"") + "\"]}";
        HttpResponse<String> sub = http.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/transactions"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (sub.statusCode() != 202) throw new RuntimeException("submit: " + sub.statusCode() + " " + sub.body());
        Matcher m = Pattern.compile("\"id\":\"([0-9a-f]{64})\"").matcher(sub.body());
        if (!m.find()) throw new RuntimeException("no id in " + sub.body());
        String id = m.group(1);
        // 2. Follow the commit stream (Server-Sent Events) from epoch 0 until the id shows up.
        HttpResponse<java.io.InputStream> stream = http.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/commits?from=0"))
                .header("Authorization", "Bearer " + token).GET().build(),
            HttpResponse.BodyHandlers.ofInputStream());
        String epoch = null, lastId = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(stream.body()))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("id:")) lastId = line.substring(3).trim();
                if (line.startsWith("data:") && line.contains(id)) { epoch = lastId; break; }
            }
        }
        if (epoch == null) throw new RuntimeException("the stream ended before " + id + " committed");
        // 3. Read it back: its state, and the key-value app's value.
        HttpResponse<String> st = http.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/transactions/" + id))
                .header("Authorization", "Bearer " + token).GET().build(),
            HttpResponse.BodyHandlers.ofString());
        if (!st.body().contains("\"committed\"")) throw new RuntimeException("state: " + st.body());
        System.out.println("java: committed " + id + " in epoch " + epoch);
    }
}
