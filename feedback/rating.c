/* rating: see rating.h. */
#include "rating.h"

#include <string.h>

double sy_rating_read(const cJSON *body, const char **param, const char **message)
{
    const cJSON *rating = cJSON_GetObjectItemCaseSensitive(body, "rating");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(body, "value");
    if ((rating != NULL) == (value != NULL)) {
        *param = rating ? "value" : "rating";
        *message = "give exactly one of \"rating\" (\"up\" or \"down\") and \"value\" (0 to 1)";
        return -1;
    }
    if (rating) {
        if (cJSON_IsString(rating) && strcmp(rating->valuestring, "up") == 0)
            return 1;
        if (cJSON_IsString(rating) && strcmp(rating->valuestring, "down") == 0)
            return 0;
        *param = "rating";
        *message = "\"rating\" must be \"up\" or \"down\"";
        return -1;
    }
    if (!cJSON_IsNumber(value) || !(value->valuedouble >= 0 && value->valuedouble <= 1)) {
        *param = "value";
        *message = "\"value\" must be a number from 0 to 1";
        return -1;
    }
    return value->valuedouble;
}
